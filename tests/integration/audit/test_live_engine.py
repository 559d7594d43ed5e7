"""Against the real engine: bots trade over NATS, then a replay of the store (chain verified,
command receipts included) reaches exactly the state hash the live engine reports."""

import asyncio
import json

import msgspec
import nats
import psycopg
import typer
from solders.keypair import Keypair
from typer.testing import CliRunner

from audit.chain import install_chain
from audit.log_source import StoreLog
from audit.replay import Replay
from bus import streams
from bus.engine import RPC_STATE
from bus.event_store import EVENTS_TABLE, ExchangeStore
from cli.audit import audit_app
from commands import messages as m
from tests.integration.engine.conftest import running_engine
from tests.integration.engine.signing import Bot, sol_perp_market, usdc

qd = typer.Typer()
qd.add_typer(audit_app, name="audit")


async def test_replay_equals_the_live_engine_state_hash(own_nats_url, fresh_pg_dsn):
    # The store is chained before the engine writes anything (the hook the engine will call).
    ExchangeStore(fresh_pg_dsn).close()
    with psycopg.connect(fresh_pg_dsn) as conn:
        install_chain(conn, EVENTS_TABLE)
    admin = Keypair()
    connection = await nats.connect(own_nats_url)
    try:
        await streams.declare(connection.jetstream(), consumers=())
        async with running_engine(own_nats_url, fresh_pg_dsn, admin):
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
            for round_number in range(5):
                await alice.send(m.PlaceOrder(market="SOL-PERP", client_order_id=f"a{round_number}",
                                              side="sell", size=1_000_000_000, price=usdc(100)))
                await bob.send(m.PlaceOrder(market="SOL-PERP", client_order_id=f"b{round_number}",
                                            side="buy", size=1_000_000_000, price=usdc(101)))
            rejected = await bob.send(m.PlaceOrder(market="NOPE-PERP", client_order_id="x", side="buy",
                                                   size=1_000_000_000, price=usdc(1)))
            assert not rejected.accepted
            # The live engine reports its committed commands position and state hash.
            reply = await connection.request(RPC_STATE, b"", timeout=10)
            live = msgspec.json.decode(reply.data)
            # `qd audit replay --engine` asks the engine itself and agrees with it.
            cli = await asyncio.to_thread(CliRunner().invoke, qd, [
                "audit", "replay", "--pg", fresh_pg_dsn, "--engine", "--nats", own_nats_url, "--json"])
            assert cli.exit_code == 0, cli.output
            assert json.loads(cli.output)["checkpoints"][-1]["state_hash"] == live["state_hash"]
    finally:
        await connection.close()
    # The replay of the store, stopped after that command, verifies and matches.
    result = Replay().run(StoreLog(fresh_pg_dsn).rows(), until_command_seq=live["position"])
    assert result.ok, result.chain_break or result.failure
    assert result.checkpoints[-1].state_hash == live["state_hash"]
    assert result.events > result.applied  # command receipts are chained but not domain state
