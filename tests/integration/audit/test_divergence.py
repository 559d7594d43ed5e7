"""Finding the first diverging event: a real engine runs a few dozen signed commands; one stored
event's payload is then changed AND the chain rewritten after it, so the chain still verifies.
Re-running the commands stream names exactly that event and the field that differs."""

import asyncio
import json

import psycopg
import typer
from solders.keypair import Keypair
from typer.testing import CliRunner

from audit.canonical import GENESIS_HASH, canonical_record, next_hash
from audit.chain import chain_table_name
from bus.event_store import EVENTS_TABLE
from cli.audit import audit_app
from tests.integration.audit.sessions import a_trading_session, chained_store
from tests.integration.engine.signing import usdc

qd = typer.Typer()
qd.add_typer(audit_app, name="audit")


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
    chained_store(fresh_pg_dsn)
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
    chained_store(fresh_pg_dsn)
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


async def test_rate_refusals_are_taken_as_the_receipts_recorded_them(own_nats_url, fresh_pg_dsn):
    # Given a session whose bots were held to 1 command a second, in bursts of 2: most of their
    # orders were refused RateLimited by the engine's in-memory buckets
    chained_store(fresh_pg_dsn)
    admin = Keypair()
    common = ["--pg", fresh_pg_dsn, "--nats", own_nats_url, "--admin", str(admin.pubkey())]
    async with a_trading_session(own_nats_url, fresh_pg_dsn, admin, rounds=6, command_rate=1,
                                 command_burst=2) as live:
        pass
    with psycopg.connect(fresh_pg_dsn) as conn:
        refused = conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE} WHERE topic LIKE "
                               "'%CommandReceipt.Recorded' AND convert_from(state, 'UTF8') LIKE '%RateLimited%'").fetchone()[0]
    assert refused >= 3  # of the 12 orders (fewer if this machine is slow enough to refill)

    # When the commands are re-run, Then the re-run refuses the same ones and matches the log
    code, report = await asyncio.to_thread(audit_replay, *common, "--find-divergence")
    assert code == 0, report
    assert report["divergence"]["divergence"] is None
    assert report["divergence"]["rerun_state_hash"] == live["state_hash"]
