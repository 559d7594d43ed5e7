"""A real engine's trading session for the audit tests, on a store chained from its first event."""

from __future__ import annotations

import contextlib

import msgspec
import nats
import psycopg
from solders.keypair import Keypair

from audit.chain import install_chain
from bus import streams
from bus.engine import RPC_STATE
from bus.event_store import EVENTS_TABLE, ExchangeStore
from commands import messages as m
from tests.integration.engine.conftest import running_engine
from tests.integration.engine.signing import Bot, sol_perp_market, usdc


def chained_store(dsn: str) -> None:
    """Create the event store and its hash chain before any engine writes to it."""
    ExchangeStore(dsn).close()
    with psycopg.connect(dsn) as conn:
        install_chain(conn, EVENTS_TABLE)


@contextlib.asynccontextmanager
async def a_trading_session(nats_url: str, dsn: str, admin: Keypair, rounds: int = 10, **engine_options):
    """A market, two funded accounts, `rounds` rounds of crossing orders and a refused order,
    through the real engine (with `engine_options`); yields the engine's state report, engine
    still running."""
    connection = await nats.connect(nats_url)
    try:
        await streams.declare(connection.jetstream(), consumers=())
        async with running_engine(nats_url, dsn, admin, **engine_options):
            # An operator lists a market; two bots open accounts, are credited, and trade.
            operator = await Bot(connection, admin).start()
            assert (await operator.send(sol_perp_market(), owner=operator.owner)).accepted
            assert (await operator.send(m.SetOraclePrice(symbol="SOL", price=usdc(100)))).accepted
            alice, bob = await Bot(connection).start(), await Bot(connection).start()
            for bot in (alice, bob):
                assert (await bot.send(m.OpenAccount())).accepted
                assert (await operator.send(m.Deposit(asset="USDC", amount=usdc(5_000),
                                                      chain_tx="tx-" + bot.owner[:8]),
                                            owner=bot.owner)).accepted
            for n in range(rounds):
                await alice.send(m.PlaceOrder(market="SOL-PERP", client_order_id=f"a{n}",
                                              side="sell", size=1_000_000_000, price=usdc(100)))
                await bob.send(m.PlaceOrder(market="SOL-PERP", client_order_id=f"b{n}",
                                            side="buy", size=1_000_000_000, price=usdc(101)))
            assert not (await bob.send(m.PlaceOrder(market="NOPE-PERP", client_order_id="x",
                                                    side="buy", size=1, price=usdc(1)))).accepted
            # The live engine reports its committed commands position and state hash.
            reply = await connection.request(RPC_STATE, b"", timeout=10)
            yield msgspec.json.decode(reply.data)
    finally:
        await connection.close()
