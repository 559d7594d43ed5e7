"""The end-to-end half of ``bench.settlement``: events in the log -> settler -> batches on chain.

Real parts: nats-server, PostgreSQL (fast-unsafe settings), the engine and the relay, the program
in LiteSVM behind the local JSON-RPC server (a process). ``accounts`` traders deposit on chain
(credited by the deposit watcher), then trade in pairs, so the log holds one TradeSettled per
trader. The settler then starts on that backlog; the clock runs from its start (connect,
reconcile with the chain) until every trader's delta is settled on chain. Then, the settler
still running, ten live trades: from the buy's receipt to the buyer's balance changing on chain.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deploy.local.nats import NatsServer
from deploy.local.postgres import FAST_UNSAFE_SETTINGS, Postgres
from onchain.dev_stack import MARKET, USDC, running_stack
from onchain.settler.service import Settler

SOL = 1_000_000_000


async def settle_backlog(nats_url: str, pg_dsn: str, rpc_url: str, directory: Path, accounts: int) -> dict:
    async with running_stack(nats_url, pg_dsn, rpc_url, directory, with_projector=False) as stack:
        traders = [await stack.trader(1_000 * USDC) for _ in range(accounts)]
        for trader in traders:
            await stack.exchange.deposit(trader.keypair, trader.wallet, 0, 900 * USDC)
        watcher = stack.watcher()
        await watcher.start()
        assert await watcher.poll_once() == accounts
        await watcher.close()
        for pair, (buyer, seller) in enumerate(zip(traders[0::2], traders[1::2])):
            if pair % 25 == 0:
                await stack.refresh_price()
            ask = await seller.bot.place_order(MARKET, "sell", size=SOL, price=100 * USDC)
            assert ask.accepted, ask
            assert (await buyer.bot.place_order(MARKET, "buy", size=SOL, price=100 * USDC)).accepted
        owners = {trader.owner for trader in traders}

        started = time.perf_counter()
        settler = Settler(stack.settler_settings(idle_seconds=0.05, max_wait_seconds=5.0))
        await settler.start()
        ready = time.perf_counter()
        stop = asyncio.Event()
        running = asyncio.create_task(settler.run(stop))
        while owners - {account.owner for batch in settler.settled_batches for account, _, _ in batch.deltas}:
            assert not running.done(), running.exception()
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        rows = list(zip(settler.settled_compute_units, (len(batch.deltas) for batch in settler.settled_batches)))
        latencies = await live_trades(stack, traders, running)
        stop.set()
        await running
        await settler.close()
        for trader in traders:
            await trader.bot.close()
    compute_units = sum(row[0] for row in rows)
    return {"accounts": accounts, "seconds": elapsed, "startup_seconds": ready - started, "transactions": len(rows),
            "accounts_per_transaction": round(accounts / len(rows), 2),
            "entries_per_transaction": round(sum(row[1] for row in rows) / len(rows), 2),
            "compute_units_per_account": round(compute_units / accounts, 1),
            "trade_to_chain_p50_ms": round(statistics.median(latencies) * 1000, 1),
            "trade_to_chain_max_ms": round(max(latencies) * 1000, 1)}


async def live_trades(stack, traders, running, count: int = 10) -> list[float]:
    """Seconds from a trade's receipt to the buyer's new balance on chain, the settler running."""
    await stack.refresh_price()
    latencies = []
    for index in range(count):
        buyer, seller = traders[2 * index], traders[2 * index + 1]
        before = (await stack.gateway.user_account(buyer.keypair.pubkey(), 0)).balances[0]
        assert (await seller.bot.place_order(MARKET, "sell", size=SOL, price=100 * USDC)).accepted
        assert (await buyer.bot.place_order(MARKET, "buy", size=SOL, price=100 * USDC)).accepted
        traded = time.perf_counter()
        while (await stack.gateway.user_account(buyer.keypair.pubkey(), 0)).balances[0] == before:
            assert not running.done(), running.exception()
            await asyncio.sleep(0.005)
        latencies.append(time.perf_counter() - traded)
    return latencies


def run(accounts: int) -> dict:
    """Start the servers, measure, stop them."""
    with tempfile.TemporaryDirectory(prefix="bench-settlement-") as name:
        directory = Path(name)
        nats_server = NatsServer(directory / "nats").start()
        postgres = Postgres(directory / "pg", settings=FAST_UNSAFE_SETTINGS).start()
        rpc = subprocess.Popen([sys.executable, "-m", "onchain.rpc.local_server", "--port", "0"],
                               stdout=subprocess.PIPE, text=True)
        try:
            rpc_url = f"http://127.0.0.1:{rpc.stdout.readline().strip().split('=')[1]}"
            dsn = postgres.create_database("bench_settlement")
            return asyncio.run(settle_backlog(nats_server.url, dsn, rpc_url, directory, accounts))
        finally:
            rpc.terminate()
            rpc.wait(timeout=10)
            postgres.stop()
            nats_server.stop()
