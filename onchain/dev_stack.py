"""The whole QuantDesk stack around the program, in one event loop (tests and the benchmark).

Real parts: a nats-server, PostgreSQL (the engine's event store with the audit hash chain,
and the account_state read model), the engine, the relay and the projector (tasks in the test's
event loop), and the program in LiteSVM behind our local JSON-RPC server (a process).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import nats
import psycopg
from solders.keypair import Keypair

from audit.chain import install_chain
from bus import streams
from bus.engine import EngineSettings, run_forever
from bus.engine_intake import OperatorKeys
from bus.event_store import EVENTS_TABLE, ExchangeStore
from bus.relay import Relay, open_source
from client.bot_client import BotClient
from commands import messages as m
from onchain import local_setup
from onchain.gateway import ChainGateway
from onchain.rpc.failover import FailoverRpc
from onchain.settler.service import SettlerSettings
from onchain.watcher.service import DepositWatcher, WatcherSettings
from projections.projector import run_projector

USDC = 1_000_000
MARKET = "SOL-PERP"


def sol_perp() -> m.CreateMarket:
    return m.CreateMarket(market=MARKET, base_asset="SOL", tick_size=10_000, lot_size=1_000_000, min_size=1_000_000,
                          max_leverage=20, initial_margin_bps=500, maintenance_margin_bps=250,
                          maker_fee_bps=2, taker_fee_bps=5)


@dataclass
class Trader:
    keypair: Keypair
    wallet: object  # USDC token account (the associated one)
    bot: BotClient

    @property
    def owner(self) -> str:
        return str(self.keypair.pubkey())


@dataclass
class Stack:
    nats_url: str
    pg_dsn: str
    rpc_url: str
    gateway: ChainGateway
    exchange: local_setup.LocalExchange
    operator: BotClient
    watcher_key: Keypair
    tmp_path: object
    tasks: list = field(default_factory=list)

    def settler_settings(self, **overrides) -> SettlerSettings:
        options = {"idle_seconds": 0.2, "max_wait_seconds": 1.0, **overrides}
        return SettlerSettings(nats_url=self.nats_url, pg_dsn=self.pg_dsn, rpc_urls=[self.rpc_url],
                               authority=self.exchange.authority, asset_symbols=("USDC",), **options)

    def watcher(self) -> DepositWatcher:
        return DepositWatcher(WatcherSettings(nats_url=self.nats_url, rpc_urls=[self.rpc_url],
                                              keypair=self.watcher_key, cursor_path=self.tmp_path / "cursor.json",
                                              asset_symbols=("USDC",)))

    async def trader(self, usdc_on_chain: int) -> Trader:
        """A user with an on-chain account and a USDC wallet, and a bot client."""
        keypair = Keypair()
        wallets = await self.exchange.user(keypair, {0: usdc_on_chain})
        return Trader(keypair, wallets[0], await BotClient.connect(self.nats_url, keypair))

    async def refresh_price(self, price: int = 100 * USDC) -> None:
        """Publish the SOL price again (orders are refused on a stale oracle)."""
        assert (await self.operator.send(m.SetOraclePrice(symbol="SOL", price=price))).accepted

    def sql(self, query: str, *params):
        with psycopg.connect(self.pg_dsn, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    async def wait_for_read_model(self, position: int, timeout: float = 20.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            rows = await asyncio.to_thread(self.sql, "SELECT to_regclass('read.position_account_state')")
            if rows[0][0] is not None:
                reached = (await asyncio.to_thread(
                    self.sql, "SELECT greatest(position, consistent_through) FROM read.position_account_state"))
                if reached and reached[0][0] >= position:
                    return
            assert asyncio.get_running_loop().time() < deadline, f"read model did not reach {position}"
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running_stack(nats_url: str, pg_dsn: str, rpc_url: str, tmp_path, with_projector: bool = True):
    """Chain bootstrapped over RPC; engine, relay and projector running; market created."""
    gateway = ChainGateway(FailoverRpc([rpc_url]))
    exchange = await local_setup.bootstrap(gateway, [6])
    watcher_key = Keypair()
    # The event store's tables, then the audit chain on them, before the first event.
    await asyncio.to_thread(lambda: ExchangeStore(pg_dsn).close())
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        install_chain(conn, EVENTS_TABLE)
    stop = asyncio.Event()
    settings = EngineSettings(nats_url=nats_url, pg_dsn=pg_dsn, operators=OperatorKeys(
        admin=frozenset({str(exchange.admin.pubkey())}), deposit_watchers=frozenset({str(watcher_key.pubkey())}),
        settlers=frozenset({str(exchange.authority.pubkey())})))
    relay_connection = await nats.connect(nats_url)
    await streams.declare(relay_connection.jetstream(), consumers=())  # before the first command
    tasks = [asyncio.create_task(run_forever(settings, stop))]
    operator = await BotClient.connect(nats_url, exchange.admin)
    try:
        created = await operator.send(sol_perp())  # also waits for the engine to be up
        assert created.accepted, created
        assert (await operator.send(m.SetOraclePrice(symbol="SOL", price=100 * USDC))).accepted
        source = await asyncio.to_thread(open_source, pg_dsn)
        tasks.append(asyncio.create_task(Relay(relay_connection, source, poll_interval=0.05).run(stop)))
        if with_projector:
            tasks.append(asyncio.create_task(run_projector("account_state", nats_url, pg_dsn, stop=stop)))
        yield Stack(nats_url, pg_dsn, rpc_url, gateway, exchange, operator, watcher_key, tmp_path, tasks)
    finally:
        stop.set()
        _, still_running = await asyncio.wait(tasks, timeout=20)
        for task in still_running:  # never leave a service running past its stack
            task.cancel()
        await operator.close()
        await relay_connection.close()
        await gateway.rpc.close()
