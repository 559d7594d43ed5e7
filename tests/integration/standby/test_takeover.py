"""The engine's leader is SIGKILLed under load; the hot standby takes the lease and carries on.

Two `python -m bus.standby` processes share one store and one NATS server: the first takes the
PostgreSQL lease and leads, the second stands by. Bots (the real bot client) send a steady,
bounded stream of signed orders, retrying with the same command id until answered, as a careful
bot does. The leader is SIGKILLed mid-load. Afterwards:

- every command has exactly one receipt in the store (a receipt's id is derived from the command
  id, so a second application could not be stored — it would stop the engine instead);
- the new leader's state hash equals a clean replay of the store (nothing applied twice);
- the takeover time (kill -> first receipt from the new leader) is measured and printed;
- each process's /metrics says whether it leads, and the leader's serves the engine's counters.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time

import msgspec
import nats
import psycopg
from solders.keypair import Keypair

from audit.chain import install_chain
from audit.log_source import StoreLog
from audit.replay import Replay
from bus import streams
from bus.engine import RPC_STATE
from bus.event_store import EVENTS_TABLE, RECEIPT_TOPIC, ExchangeStore
from client import BotClient
from tests.integration.cluster.bot_load import Retrying, SteadyLoad, close_clients, list_market_and_fund
from tests.probes import free_port, get
from tests.probes import metrics as scrape

LOAD_SECONDS, KILL_AT = 8.0, 2.5
BOTS = 2
# Short waits, quick retries: the takeover time is measured from the receipts
PROMPT = Retrying(reply_timeout=2.0, retry_every=0.05)
ENV = {"QD_LEASE_POLL_SECONDS": "0.1"}


async def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def lease_taken_at(log: str) -> float | None:
    found = re.search(r"lease taken at ([0-9.]+)", log)
    return float(found.group(1)) if found else None


async def test_the_standby_takes_over_when_the_leader_is_killed(standby_nats_url, services, fresh_pg_dsn):
    admin = Keypair()
    # The store is chained before any engine writes, so the replay can verify it
    ExchangeStore(fresh_pg_dsn).close()
    with psycopg.connect(fresh_pg_dsn) as conn:
        install_chain(conn, EVENTS_TABLE)
    nc = await nats.connect(standby_nats_url)
    for name in (streams.COMMANDS_STREAM, streams.EVENTS_STREAM):
        try:
            await nc.jetstream().delete_stream(name)
        except Exception:  # noqa: BLE001 - not there yet
            pass
    engine_flags = ("--nats", standby_nats_url, "--pg", fresh_pg_dsn, "--admin", str(admin.pubkey()),
                    "--batch-size", "200", "--log-level", "WARNING")

    # The first process takes the lease and leads; the second stands by
    ports = {"leader": free_port(), "standby": free_port()}
    services.start("leader", "bus.standby", *engine_flags, env={**ENV, "QD_METRICS_PORT": str(ports["leader"])})
    await wait_until(lambda: lease_taken_at(services.log("leader", 0)), 60, "the leader to take the lease")
    services.start("standby", "bus.standby", *engine_flags, env={**ENV, "QD_METRICS_PORT": str(ports["standby"])})
    await wait_until(lambda: "standing by" in services.log("standby", 0), 60, "the standby to wait")

    operator = await BotClient.connect(standby_nats_url, admin)
    bots = [await BotClient.connect(standby_nats_url, Keypair()) for _ in range(BOTS)]
    try:
        # The operator lists SOL-PERP; each bot opens its account and is funded
        await list_market_and_fund(PROMPT, operator, bots, time.monotonic() + 60)

        # A steady load runs; the leader is SIGKILLed mid-load
        # (answered at wall time, to compare with the lease's time in the standby's log)
        load = SteadyLoad(PROMPT, bots, LOAD_SECONDS, id_prefix="s", clock=time.time)
        outcomes, answered_at = load.outcomes, load.answered_at
        await asyncio.sleep(KILL_AT)
        # (each one's metrics say who leads; the leader's count the commands its engine answered)
        assert scrape(ports["standby"])[("qd_engine_leader", ())] == 0
        assert get(f"http://127.0.0.1:{ports['standby']}/readyz")[0] == 503
        leader_metrics = scrape(ports["leader"])
        assert leader_metrics[("qd_engine_leader", ())] == 1
        assert leader_metrics[("qd_commands_total", (("outcome", "accepted"), ("reason", "")))] > 0
        answered_before_kill = len(answered_at)
        killed_at = time.time()
        os.killpg(services.processes["leader"].pid, signal.SIGKILL)
        await load.finished()

        # The standby took the lease and answered; the takeover time is kill -> first receipt after it
        taken = lease_taken_at(services.log("standby", 0))
        assert taken is not None and taken > killed_at, services.log("standby")
        first_answer = min(t for t in answered_at if t >= taken)
        takeover = first_answer - killed_at
        answered_after = sum(1 for t in answered_at if t >= taken)
        assert answered_before_kill > 10 and answered_after > 10, (answered_before_kill, answered_after)

        # Every command has exactly one receipt in the store
        with psycopg.connect(fresh_pg_dsn) as conn:
            receipts = conn.execute(f"SELECT count(*), count(DISTINCT originator_id) FROM {EVENTS_TABLE} "
                                    "WHERE topic = %s", (RECEIPT_TOPIC,)).fetchone()
        setup_commands = 2 + 2 * BOTS
        assert receipts[0] == receipts[1] == len(outcomes) + setup_commands, (receipts, len(outcomes))

        # The new leader's state equals a clean replay of the store: nothing applied twice
        live = msgspec.json.decode((await nc.request(RPC_STATE, b"", timeout=20)).data)
        result = Replay().run(StoreLog(fresh_pg_dsn).rows(), until_command_seq=live["position"])
        assert result.ok, result.chain_break or result.failure
        assert result.checkpoints[-1].state_hash == live["state_hash"]
        accepted = sum(1 for receipt in outcomes.values() if receipt.accepted)
        print(f"\nstandby takeover: {takeover:.2f} s from SIGKILL to the first receipt of the new leader "
              f"(lease taken after {taken - killed_at:.2f} s); {len(outcomes)} commands "
              f"({accepted} accepted), {answered_before_kill} answered before the kill, {answered_after} after")
        assert "standby" not in services.exited(), services.log("standby")
        # The new leader's metrics say so, and count what it answered since it took over
        await asyncio.sleep(1.0)
        taken_over = scrape(ports["standby"])
        assert taken_over[("qd_engine_leader", ())] == 1
        assert taken_over[("qd_engine_committed_position", ())] == live["position"]
        assert get(f"http://127.0.0.1:{ports['standby']}/readyz")[0] == 200
    finally:
        await close_clients((operator, *bots))
        await nc.close()
