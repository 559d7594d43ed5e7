"""Replay from the PostgreSQL store: the rebuilt state equals the live state at every chosen
position, and a replay over a tampered log stops at the tampered event and names it."""

from audit.log_source import StoreLog
from audit.replay import Replay
from tests.integration.audit.ledger import (
    EVENTS_TABLE, Ledger, execute, is_ledger_topic, ledger_state_hash,
)


def replay(dsn: str, **options):
    engine = Replay(include=is_ledger_topic, state_hasher=ledger_state_hash)
    return engine.run(StoreLog(dsn, EVENTS_TABLE).rows(), **options)


def live_run(app, batches: int) -> dict[int, str]:
    """Write batches of events as a live engine would, capturing (position -> state hash)."""
    ledgers = [Ledger(name=f"L{n}") for n in range(4)]
    app.save(*ledgers)
    captured = {}
    for batch in range(batches):
        for ledger in ledgers:
            ledger.credit(holder=f"h{batch % 3}", amount=10 * batch + 1)
        ledgers[batch % 4].debit(holder="h0", amount=3)
        app.save(*ledgers)
        captured[app.recorder.max_notification_id()] = ledger_state_hash(ledgers)
    return captured


def test_replay_reproduces_the_live_state_hash_at_each_position(ledger_app, fresh_pg_dsn):
    # A live run records its state hash after each committed batch.
    captured = live_run(ledger_app, batches=6)
    # Replaying from genesis gives the same hash at every one of those positions.
    result = replay(fresh_pg_dsn, checkpoints=captured)
    assert result.ok and result.applied == 4 + 6 * 5
    assert {c.position: c.state_hash for c in result.checkpoints} == captured


def test_replay_up_to_a_position_stops_there(ledger_app, fresh_pg_dsn):
    captured = live_run(ledger_app, batches=3)
    position = sorted(captured)[1]
    result = replay(fresh_pg_dsn, up_to=position)
    assert result.last_position == position
    assert result.checkpoints[-1].state_hash == captured[position]


def test_replay_of_a_tampered_store_names_the_event(ledger_app, fresh_pg_dsn):
    captured = live_run(ledger_app, batches=3)
    # An amount is rewritten in place (the JSON stays valid: only the chain can tell).
    target = sorted(captured)[1]  # the second batch's last event: L3 credited 11
    execute(fresh_pg_dsn, f"UPDATE {EVENTS_TABLE} SET state = convert_to(regexp_replace("
            "convert_from(state, 'UTF8'), '\"amount\": ?11', '\"amount\": 99'), 'UTF8')"
            " WHERE notification_id = %s", (target,))
    result = replay(fresh_pg_dsn)
    assert not result.ok and result.chain_break.position == target
    assert f"position {target} (" in str(result.chain_break)
    # Without the chain check the tampering would have gone unnoticed by the state alone.
    unchecked = Replay(include=is_ledger_topic, state_hasher=ledger_state_hash, verify_chain=False)
    assert unchecked.run(StoreLog(fresh_pg_dsn, EVENTS_TABLE).rows()).ok


def test_an_event_out_of_version_order_is_named(ledger_app, fresh_pg_dsn):
    live_run(ledger_app, batches=2)
    # Without the chain (a store that never had one), a gap in an aggregate's versions is still
    # caught by eventsourcing's version check when the event is applied.
    execute(fresh_pg_dsn, f"DELETE FROM {EVENTS_TABLE} WHERE notification_id = 6")
    unchecked = Replay(include=is_ledger_topic, state_hasher=ledger_state_hash, verify_chain=False)
    result = unchecked.run(StoreLog(fresh_pg_dsn, EVENTS_TABLE).rows(with_chain=False))
    assert result.failure is not None and "Version" in result.failure.reason


def test_one_replay_object_can_run_twice(ledger_app, fresh_pg_dsn):
    # Each run starts from genesis: same result twice.
    live_run(ledger_app, batches=2)
    engine = Replay(include=is_ledger_topic, state_hasher=ledger_state_hash)
    first = engine.run(StoreLog(fresh_pg_dsn, EVENTS_TABLE).rows())
    second = engine.run(StoreLog(fresh_pg_dsn, EVENTS_TABLE).rows())
    assert first.ok and second.ok and first.checkpoints == second.checkpoints
