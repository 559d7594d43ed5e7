"""Finding the first diverging event: a real engine runs a few dozen signed commands; one stored
event's payload is then changed AND the chain rewritten after it, so the chain still verifies.
Re-running the commands stream names exactly that event and the field that differs."""

import asyncio
import contextlib
import json

import msgspec
import nats
import psycopg
import typer
from solders.keypair import Keypair
from typer.testing import CliRunner

from audit.canonical import GENESIS_HASH, canonical_record, next_hash
from audit.chain import chain_table_name, install_chain
from bus import streams
from bus.engine import RPC_STATE
from bus.event_store import EVENTS_TABLE, ExchangeStore
from cli.audit import audit_app
from commands import messages as m
from tests.integration.engine.conftest import running_engine
from tests.integration.engine.signing import Bot, sol_perp_market, usdc

qd = typer.Typer()
qd.add_typer(audit_app, name="audit")


@contextlib.asynccontextmanager
async def a_trading_session(nats_url: str, dsn: str, admin: Keypair):
    """A market, two funded accounts, 10 rounds of crossing orders and a refused order (~27
    commands) through the real engine; yields the engine's state report, engine still running."""
    connection = await nats.connect(nats_url)
    try:
        await streams.declare(connection.jetstream(), consumers=())
        async with running_engine(nats_url, dsn, admin):
            operator = await Bot(connection, admin).start()
            assert (await operator.send(sol_perp_market(), owner=operator.owner)).accepted
            assert (await operator.send(m.SetOraclePrice(symbol="SOL", price=usdc(100)))).accepted
            alice, bob = await Bot(connection).start(), await Bot(connection).start()
            for bot in (alice, bob):
                assert (await bot.send(m.OpenAccount())).accepted
                assert (await operator.send(m.Deposit(asset="USDC", amount=usdc(5_000),
                                                      chain_tx="tx-" + bot.owner[:8]),
                                            owner=bot.owner)).accepted
            for n in range(10):
                await alice.send(m.PlaceOrder(market="SOL-PERP", client_order_id=f"a{n}",
                                              side="sell", size=1_000_000_000, price=usdc(100)))
                await bob.send(m.PlaceOrder(market="SOL-PERP", client_order_id=f"b{n}",
                                            side="buy", size=1_000_000_000, price=usdc(101)))
            assert not (await bob.send(m.PlaceOrder(market="NOPE-PERP", client_order_id="x",
                                                    side="buy", size=1, price=usdc(1)))).accepted
            reply = await connection.request(RPC_STATE, b"", timeout=10)
            yield msgspec.json.decode(reply.data)
    finally:
        await connection.close()


def tamper_and_rechain(dsn: str, topic_suffix: str, field: str) -> tuple[int, str]:
    """Add 1 to `field` of the last stored event whose topic ends with `topic_suffix`, then
    recompute every chain row from it on (audit.canonical), so the chain verifies again."""
    chain = chain_table_name(EVENTS_TABLE)
    with psycopg.connect(dsn) as conn:
        position, state = conn.execute(
            f"SELECT notification_id, state FROM {EVENTS_TABLE} WHERE topic LIKE %s "
            "ORDER BY notification_id DESC LIMIT 1", ("%" + topic_suffix,)).fetchone()
        payload = json.loads(bytes(state))
        payload[field] += 1
        conn.execute(f"UPDATE {EVENTS_TABLE} SET state = %s WHERE notification_id = %s",
                     (json.dumps(payload, separators=(",", ":")).encode(), position))
        previous = conn.execute(f"SELECT hash FROM {chain} WHERE notification_id < %s ORDER BY "
                                "notification_id DESC LIMIT 1", (position,)).fetchone()
        head = bytes(previous[0]) if previous else GENESIS_HASH
        rows = conn.execute(f"SELECT notification_id, originator_id, originator_version, topic, "
                            f"state FROM {EVENTS_TABLE} WHERE notification_id >= %s "
                            "ORDER BY notification_id", (position,)).fetchall()
        for number, originator_id, version, topic, event_state in rows:
            new_head = next_hash(head, canonical_record(number, originator_id, version, topic,
                                                        bytes(event_state)))
            conn.execute(f"UPDATE {chain} SET prev_hash = %s, hash = %s WHERE notification_id = %s",
                         (head, new_head, number))
            head = new_head
    return position, topic_suffix


def audit_replay(*arguments: str) -> tuple[int, dict]:
    result = CliRunner().invoke(qd, ["audit", "replay", *arguments, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


async def test_the_first_diverging_event_is_named(own_nats_url, fresh_pg_dsn):
    # The store is chained before the engine writes; the engine runs a trading session.
    ExchangeStore(fresh_pg_dsn).close()
    with psycopg.connect(fresh_pg_dsn) as conn:
        install_chain(conn, EVENTS_TABLE)
    admin = Keypair()
    common = ["--pg", fresh_pg_dsn, "--nats", own_nats_url, "--admin", str(admin.pubkey())]
    async with a_trading_session(own_nats_url, fresh_pg_dsn, admin) as live:
        # Against the live engine, the untouched store agrees: no search is run.
        code, report = await asyncio.to_thread(audit_replay, *common, "--engine")
        assert code == 0 and "divergence" not in report, report

        # Bob's deposit is made 1 base unit larger in the store and the chain is rewritten
        # after it: the chain verifies, the state no longer equals the live engine's, and the
        # search runs by itself.
        position, _ = tamper_and_rechain(fresh_pg_dsn, ".Deposited", "amount")
        code, report = await asyncio.to_thread(audit_replay, *common, "--engine")
        assert code == 1 and report["chain_verified"], report
        assert report["divergence"]["divergence"]["position"] == position
        assert "the live engine has" in report["problem"]

    # On its own (no engine), the re-run names the same event and field.
    code, report = await asyncio.to_thread(audit_replay, *common, "--find-divergence")
    assert code == 1
    assert report["chain_verified"], report["problem"]
    found = report["divergence"]["divergence"]
    assert found["position"] == position
    assert found["topic"].endswith(".Deposited")
    assert found["fields"] == ["amount"]
    assert found["stored"]["amount"] == repr(usdc(5_000) + 1)
    assert found["produced"]["amount"] == repr(usdc(5_000))
    assert report["problem"].startswith(f"first diverging event at position {position}")
    # Its re-run reaches the live engine's state: the engine was right, the log is wrong.
    assert report["divergence"]["rerun_state_hash"] == live["state_hash"]


async def test_an_untouched_log_matches_its_commands(own_nats_url, fresh_pg_dsn):
    ExchangeStore(fresh_pg_dsn).close()
    with psycopg.connect(fresh_pg_dsn) as conn:
        install_chain(conn, EVENTS_TABLE)
    admin = Keypair()
    common = ["--pg", fresh_pg_dsn, "--nats", own_nats_url, "--admin", str(admin.pubkey())]
    async with a_trading_session(own_nats_url, fresh_pg_dsn, admin) as live:
        pass

    # Untouched, the re-run of the commands produces every stored event, and its state is the
    # live engine's.
    code, report = await asyncio.to_thread(audit_replay, *common, "--find-divergence")
    assert code == 0, report
    assert report["divergence"]["divergence"] is None
    assert report["divergence"]["rerun_state_hash"] == live["state_hash"]
    assert report["divergence"]["compared"] == report["events"]
    assert "state not captured by events" in report["divergence"]["summary"]
