"""The hash chain in a real PostgreSQL store: written by the trigger, verified in Python, and
any tampering (a changed byte, a deleted or reordered event) is detected and named."""

import psycopg
import pytest

from audit.canonical import GENESIS_HASH, canonical_record, next_hash
from audit.chain import chain_table_name, install_chain, verify_rows
from audit.log_source import StoreLog
from tests.integration.audit.ledger import EVENTS_TABLE, Ledger, execute, fill_ledgers

CHAIN_TABLE = chain_table_name(EVENTS_TABLE)

@pytest.fixture
def log(fresh_pg_dsn, ledger_app) -> StoreLog:
    fill_ledgers(ledger_app, ledgers=5, rounds=4)  # 5 + 5*4*2 = 45 events in 5 transactions
    return StoreLog(fresh_pg_dsn, EVENTS_TABLE)

def test_every_event_is_chained_and_the_trigger_agrees_with_python(log):
    # Every stored event has a chain row, written in its own transaction by the trigger.
    rows = list(log.rows())
    assert len(rows) == 45 and all(row.hash is not None for row in rows)
    # An auditor's recomputation from genesis, with no help from our SQL, gives the same heads.
    head = GENESIS_HASH
    for row in rows:
        assert row.prev_hash == head
        head = next_hash(head, canonical_record(row.position, row.originator_id,
                                                row.originator_version, row.topic, row.state))
        assert row.hash == head
    verifier, found = verify_rows(log.rows())
    assert found is None and verifier.checked == 45 and verifier.head == head

def test_a_changed_byte_of_state_is_detected_and_named(log, fresh_pg_dsn):
    # A tamperer flips one byte of the 20th event's stored state.
    position = list(log.rows())[19].position
    execute(fresh_pg_dsn, f"UPDATE {EVENTS_TABLE} SET state = set_byte(state, 5, get_byte(state, 5) # 1)"
            " WHERE notification_id = %s", (position,))
    # Verification stops at exactly that event and names it.
    verifier, found = verify_rows(log.rows())
    assert found is not None and found.position == position
    assert "content does not match" in found.reason and ":Ledger." in found.event
    assert verifier.checked == 19

def test_a_deleted_event_is_detected(log, fresh_pg_dsn):
    # Deleting an event alone leaves its chain row behind: named as missing.
    position = list(log.rows())[10].position
    execute(fresh_pg_dsn, f"DELETE FROM {EVENTS_TABLE} WHERE notification_id = %s", (position,))
    _, found = verify_rows(log.rows())
    assert found.position == position and "missing" in found.reason

def test_a_deleted_event_and_its_chain_row_are_detected_at_the_next_event(log, fresh_pg_dsn):
    # A more careful tamperer deletes the chain row too: the next event no longer links.
    positions = [row.position for row in log.rows()]
    execute(fresh_pg_dsn, f"DELETE FROM {EVENTS_TABLE} WHERE notification_id = %s", (positions[10],))
    execute(fresh_pg_dsn, f"DELETE FROM {CHAIN_TABLE} WHERE notification_id = %s", (positions[10],))
    _, found = verify_rows(log.rows())
    assert found.position == positions[11] and "does not follow" in found.reason

def test_reordered_events_are_detected(log, fresh_pg_dsn):
    # Two consecutive events swap their log positions (as a reordering tamperer would).
    positions = [row.position for row in log.rows()]
    first, second = positions[30], positions[31]
    with psycopg.connect(fresh_pg_dsn) as conn:
        conn.execute(f"UPDATE {EVENTS_TABLE} SET notification_id = -1 WHERE notification_id = %s", (first,))
        conn.execute(f"UPDATE {EVENTS_TABLE} SET notification_id = %s WHERE notification_id = %s", (first, second))
        conn.execute(f"UPDATE {EVENTS_TABLE} SET notification_id = %s WHERE notification_id = -1", (second,))
    _, found = verify_rows(log.rows())
    assert found.position == first and "does not match" in found.reason

def test_an_event_inserted_without_the_trigger_is_detected(log, fresh_pg_dsn):
    # A row slipped in with the trigger disabled has no chain entry.
    execute(fresh_pg_dsn, f"ALTER TABLE {EVENTS_TABLE} DISABLE TRIGGER USER")
    execute(fresh_pg_dsn, f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state)"
            " SELECT originator_id, originator_version + 100, topic, state FROM "
            f"{EVENTS_TABLE} ORDER BY notification_id DESC LIMIT 1")
    _, found = verify_rows(log.rows())
    assert found is not None and "no chain entry" in found.reason

def test_installing_twice_changes_nothing_and_chains_events_stored_before(fresh_pg_dsn, ledger_app):
    # Events stored before the chain existed are chained when it is installed.
    execute(fresh_pg_dsn, f"DROP TABLE {CHAIN_TABLE} CASCADE")
    execute(fresh_pg_dsn, f"DROP TRIGGER IF EXISTS {CHAIN_TABLE}_append ON {EVENTS_TABLE}")
    fill_ledgers(ledger_app, ledgers=3, rounds=1)
    with psycopg.connect(fresh_pg_dsn) as conn:
        assert install_chain(conn, EVENTS_TABLE) == 9
        assert install_chain(conn, EVENTS_TABLE) == 0
    # ...and later inserts continue the same chain through the trigger.
    ledger = Ledger(name="late")
    ledger.credit(holder="x", amount=1)
    ledger_app.save(ledger)
    verifier, found = verify_rows(StoreLog(fresh_pg_dsn, EVENTS_TABLE).rows())
    assert found is None and verifier.checked == 11


def test_the_engine_store_chains_every_event_it_commits(fresh_pg_dsn):
    # The engine's store installs the chain at set-up (eventsourcing's pooled, dict-row
    # connection), so events are chained as they are committed; installing again is a no-op.
    from bench.replay import TradingWorkload
    from bus.event_store import EVENTS_TABLE, ExchangeStore

    store = ExchangeStore(fresh_pg_dsn)
    workload = TradingWorkload(accounts=3)
    workload.setup()
    stored = len(store.commit(workload.collect(), workload.seq))
    with store.recorder.datastore.get_connection() as connection:
        assert install_chain(connection, EVENTS_TABLE) == 0
    workload.trade()
    store.commit(workload.collect(), workload.seq)
    store.close()
    verifier, found = verify_rows(StoreLog(fresh_pg_dsn).rows())
    assert found is None and verifier.checked > stored


def test_concurrent_writers_keep_one_linear_chain(fresh_pg_dsn, ledger_app):
    # Four writers commit at the same time: the events table lock serializes them, so the
    # chain stays one line in position order.
    from concurrent.futures import ThreadPoolExecutor

    def writer(number: int) -> None:
        ledger = Ledger(name=f"writer-{number}")
        for round_number in range(15):
            ledger.credit(holder="h", amount=round_number)
            ledger_app.save(ledger)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(writer, range(4)))
    verifier, found = verify_rows(StoreLog(fresh_pg_dsn, EVENTS_TABLE).rows())
    assert found is None and verifier.checked == 4 * (1 + 15)  # opened, then 15 credits each
