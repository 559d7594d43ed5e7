"""The engine's one-statement commit: events and position together, in log order, never behind."""

import pytest
from eventsourcing.persistence import IntegrityError

from bench.replay import TradingWorkload
from bus.event_store import ExchangeStore
from commands.receipts import new_receipt, receipt_id


@pytest.fixture
def store(fresh_pg_dsn):
    store = ExchangeStore(fresh_pg_dsn)
    yield store
    store.close()


def test_a_commit_stores_the_events_in_the_order_given_and_moves_the_position(store):
    workload = TradingWorkload(accounts=3)
    workload.setup()
    events = workload.collect()

    positions = store.commit(events, 7)

    assert positions == sorted(positions) and len(positions) == len(events)
    assert store.position() == 7
    stored = store.recorder.select_notifications(start=1, limit=1000)
    assert [(n.originator_id, n.originator_version) for n in stored] == \
        [(e.originator_id, e.originator_version) for e in events]


def test_a_commit_behind_the_position_fails_whole(store):
    # Given a newer engine committed up to position 9
    workload = TradingWorkload(accounts=2)
    workload.setup()
    store.commit(workload.collect(), 9)
    stored = store.recorder.max_notification_id()

    # When a stale engine commits position 9 again, or an older one
    workload.trade()
    for stale in (9, 5):
        with pytest.raises(IntegrityError):
            store.commit(workload.collect(), stale)

    # Then nothing of it is stored
    assert store.recorder.max_notification_id() == stored and store.position() == 9


def test_a_batch_with_nothing_to_store_still_moves_the_position(store):
    assert store.commit([], 3) == [] and store.position() == 3


def test_the_intake_look_up_finds_stored_receipts_only(store):
    # Given a committed receipt and a domain aggregate created in the same batch
    workload = TradingWorkload(accounts=1)
    workload.setup()
    events = workload.collect()
    receipt = new_receipt(command_id="c1", owner="Bot1", sub_account=0, kind="PlaceOrder", seq=1, at=10**18,
                          accepted=True)
    assert events[0].originator_version == 1
    store.commit([*events, receipt], 1)
    unknown = receipt_id("Bot1", "c2")

    # When the intake asks for it, the domain aggregate's id (also at version 1) and an unknown id
    found = store.stored_receipt_ids([receipt.originator_id, events[0].originator_id, unknown])

    # Then only the receipt is found, on every later look-up too (prepared, same connection)
    assert found == {receipt.originator_id}
    assert store.stored_receipt_ids([unknown]) == set()
