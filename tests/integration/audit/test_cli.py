"""`qd audit replay` and `qd audit state` as an auditor runs them (typer sub-app, real store)."""

import json

import pytest
import typer
from typer.testing import CliRunner

from bench.replay import open_store, owner_key, write_trading_log
from cli.audit import audit_app
from tests.integration.audit.ledger import execute

qd = typer.Typer()
qd.add_typer(audit_app, name="audit")  # exactly how cli/main.py mounts it


@pytest.fixture
def trading_store(fresh_pg_dsn):
    store = open_store(fresh_pg_dsn)
    captured = write_trading_log(store, events=800, batch_commands=20, capture_every=5, accounts=5)
    store.close()
    return fresh_pg_dsn, captured


def run(*arguments: str):
    return CliRunner().invoke(qd, ["audit", *arguments])


def test_replay_prints_the_live_state_hash_at_the_positions_asked(trading_store):
    dsn, captured = trading_store
    positions = sorted(captured)[:2]
    result = run("replay", "--pg", dsn, "--at", ",".join(map(str, positions)), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    hashes = {c["position"]: c["state_hash"] for c in report["checkpoints"]}
    assert all(hashes[p] == captured[p] for p in positions) and report["chain_verified"]


def test_replay_of_a_tampered_store_fails_naming_the_event(trading_store):
    dsn, _ = trading_store
    execute(dsn, "UPDATE exchange_events SET state = set_byte(state, 3, get_byte(state, 3) # 2)"
            " WHERE notification_id = 300")
    result = run("replay", "--pg", dsn)
    assert result.exit_code == 1
    assert "position 300 (domain." in result.output.replace("\n", "")


def test_state_shows_the_account_at_a_position(trading_store):
    dsn, _ = trading_store
    result = run("state", "--pg", dsn, "--account", owner_key(1), "--at-seq", "200", "--json")
    assert result.exit_code == 0, result.output
    snapshot = json.loads(result.output)
    assert snapshot["exists"] and snapshot["position"] == 200 and "0" in snapshot["sub_accounts"]
    assert "USDC" in snapshot["sub_accounts"]["0"]["balances"]


def test_state_at_a_time_given_in_iso_8601(trading_store):
    dsn, _ = trading_store
    # The workload's clock starts at 1_700_000_000 s and advances 1 ms per command.
    by_time = run("state", "--pg", dsn, "--account", owner_key(2), "--at-time",
                  "2023-11-14T22:13:20.300+00:00", "--json")
    assert by_time.exit_code == 0, by_time.output
    snapshot = json.loads(by_time.output)
    assert snapshot["exists"] and snapshot["at"] <= 1_700_000_000_300_000_000


def test_a_store_without_chain_is_refused_unless_unverified_is_asked(fresh_pg_dsn):
    store = open_store(fresh_pg_dsn, chained=False)
    write_trading_log(store, events=100, accounts=3)
    store.close()
    refused = run("replay", "--pg", fresh_pg_dsn)
    assert refused.exit_code == 1 and "no hash chain" in refused.output
    unverified = run("replay", "--pg", fresh_pg_dsn, "--no-verify", "--json")
    assert unverified.exit_code == 0 and not json.loads(unverified.output)["chain_verified"]


def test_a_truncated_log_is_caught_against_a_published_head(trading_store):
    dsn, _ = trading_store
    # A head published at position 700 (as a settlement batch does) matches the log...
    published = json.loads(run("replay", "--pg", dsn, "--at", "700", "--json").output)
    head = next(c["chain_head"] for c in published["checkpoints"] if c["position"] == 700)
    assert run("replay", "--pg", dsn, "--expect-head", f"700={head}").exit_code == 0
    # ...until the tail is cut off, events and chain rows alike: the chain alone still verifies.
    execute(dsn, "DELETE FROM exchange_events WHERE notification_id >= 650")
    execute(dsn, "DELETE FROM exchange_events_chain WHERE notification_id >= 650")
    assert run("replay", "--pg", dsn).exit_code == 0
    cut = run("replay", "--pg", dsn, "--expect-head", f"700={head}")
    assert cut.exit_code == 1 and "removed from the end" in cut.output.replace("\n", " ")
