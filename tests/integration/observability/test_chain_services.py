"""The deposit watcher and the settler, run as their entry points run them (``run_forever`` with
the metrics and readiness their ``main`` serves), against the real program in LiteSVM behind the
local JSON-RPC server, a real nats-server, PostgreSQL, engine, relay and projector: each serves
/metrics, /healthz and /readyz, and its counters move with the deposits and batches it handles."""

from __future__ import annotations

import asyncio
import contextlib

from solders.keypair import Keypair

from observability.health import start_health_server
from observability.metrics import DepositWatcherMetrics, SettlerMetrics
from onchain.settler import __main__ as settler_main
from onchain.watcher import __main__ as watcher_main
from onchain.watcher.service import WatcherSettings
from tests.probes import alive, eventually, metrics, readiness
from tests.integration.onchain.loop_stack import USDC
from tests.integration.onchain.settlement_loop_helpers import trade


@contextlib.asynccontextmanager
async def serving(run_forever, settings, service_metrics):
    """The service's loop in a task, its health server on a free loopback port: yields the port."""
    health = start_health_server(0, service_metrics.registry, host="127.0.0.1")
    stop = asyncio.Event()
    task = asyncio.create_task(run_forever(settings, stop, service_metrics, health.readiness))
    try:
        yield health.port
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        health.close()


def watcher_settings(stack, rpc_url: str) -> WatcherSettings:
    return WatcherSettings(nats_url=stack.nats_url, rpc_urls=[rpc_url], keypair=stack.watcher_key,
                           cursor_path=stack.tmp_path / "cursor.json", asset_symbols=("USDC",), poll_seconds=0.1)


async def test_the_watcher_and_the_settler_serve_their_work_as_metrics(stack):
    # Alice and Bob deposit 900 USDC each on chain.
    alice, bob = await stack.trader(1_000 * USDC), await stack.trader(1_000 * USDC)
    for trader in (alice, bob):
        await stack.exchange.deposit(trader.keypair, trader.wallet, 0, 900 * USDC)

    # The watcher credits both: Prometheus sees two credited, the slot it scanned and its cursor.
    watcher_metrics = DepositWatcherMetrics()
    async with serving(watcher_main.run_forever, watcher_settings(stack, stack.rpc_url), watcher_metrics) as port:
        found = await eventually(lambda: (m := metrics(port))[("qd_deposits_credited_total", ())] == 2 and m)
        assert found[("qd_deposits_seen_total", ())] == 2
        assert found[("qd_deposits_duplicate_total", ())] == 0
        assert found[("qd_deposit_watcher_scanned_slot", ())] > 0
        assert found[("qd_deposit_watcher_rpc_errors_total", ())] == 0
        [cursor] = [dict(labels)["signature"] for name, labels in found if name == "qd_deposit_watcher_last_signature"]
        assert cursor == watcher_settings(stack, stack.rpc_url).cursor_path.read_text().split('"')[3]
        # Alive and ready: started, connected to NATS, its RPC answered the last poll.
        assert alive(port)
        assert readiness(port) == (200, {"ready": True, "checks": {"started": True, "nats": True, "rpc": True}})

        # The cursor is lost: the watcher re-reads both deposits, the engine answers them as duplicates.
        (stack.tmp_path / "cursor.json").unlink()
        found = await eventually(lambda: (m := metrics(port))[("qd_deposits_duplicate_total", ())] == 2 and m)
        assert found[("qd_deposits_credited_total", ())] == 2

    # They trade; Alice asks for 100 USDC back.
    await trade(stack, alice, bob, 100)
    assert (await alice.bot.request_withdrawal("USDC", 100 * USDC)).accepted

    # The settler proposes and lands a batch: Prometheus sees it, the accounts it settled, the
    # position settled through, and no lag once nothing is pending.
    settler_metrics = SettlerMetrics()
    async with serving(settler_main.run_forever, stack.settler_settings(), settler_metrics) as port:
        landed = (("outcome", "landed"),)
        found = await eventually(lambda: (m := metrics(port))[("qd_settlement_batches_total", landed)] >= 1 and m)
        assert found[("qd_settlement_batches_total", (("outcome", "proposed"),))] >= 1
        assert found[("qd_settlement_batches_total", (("outcome", "failed"),))] == 0
        assert found[("qd_settlement_accounts_total", ())] >= 2  # Alice and Bob (and the fee/pool accounts)
        assert found[("qd_settlement_batch_accounts_count", ())] == found[("qd_settlement_batches_total", landed)]
        found = await eventually(lambda: (m := metrics(port))[("qd_settlement_lag_events", ())] == 0 and m)
        settled = found[("qd_settlement_position", ())]
        assert 0 < settled <= found[("qd_settlement_log_position", ())]
        state = await stack.gateway.exchange_state()
        assert state.last_sequence == found[("qd_settlement_batches_total", landed)]
        assert alive(port)
        assert readiness(port) == (200, {"ready": True, "checks": {"started": True, "nats": True,
                                                                   "postgres": True, "rpc": True}})


async def test_a_watcher_without_its_rpc_counts_the_errors_and_is_not_ready(loop_nats_url, tmp_path):
    # The watcher's only JSON-RPC endpoint refuses connections: it retries every second.
    settings = WatcherSettings(nats_url=loop_nats_url, rpc_urls=["http://127.0.0.1:9"], keypair=Keypair(),
                               cursor_path=tmp_path / "cursor.json")
    watcher_metrics = DepositWatcherMetrics()
    async with serving(watcher_main.run_forever, settings, watcher_metrics) as port:
        await eventually(lambda: metrics(port)[("qd_deposit_watcher_rpc_errors_total", ())] >= 1)
        status, body = readiness(port)
        assert status == 503 and body["checks"]["rpc"] is False
        assert alive(port)  # alive all the same: an orchestrator must not kill it for a remote outage
