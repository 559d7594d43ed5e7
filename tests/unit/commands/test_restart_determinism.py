"""A restart changes nothing: the exchange rebuilt from the store (from snapshots, or from the
events alone) at any batch boundary, then fed the rest of the commands, reaches the same state
and gives the same outcomes as an engine that never stopped.

This is the in-memory half of the crash-safety test (tests/integration/engine): it rules out
the domain and the batch applier as a source of a state hash that depends on where the engine
was killed (snapshot contents, restore order, set/heap iteration order after a rebuild).
"""

from eventsourcing.application import Application
from hypothesis import given, settings
from hypothesis import strategies as st

from bus.engine_batch import BatchApplier, ReceiptCache
from bus.engine_intake import receive
from bus.engine_transcoder import FastJSONTranscoder
from domain.exchange import Exchange
from tests.unit.commands.test_batch import OPERATORS, T0, commands_from, trading_step
from tests.unit.commands.test_intake import FakeMessage


class MemoryStore(Application):
    """The engine's store format (bus.event_store) in memory."""

    def construct_transcoder(self) -> FastJSONTranscoder:
        transcoder = FastJSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder


def run_with_restarts(datas: list[bytes], batch_size: int, restarts: set[int], snapshots: bool):
    """Apply in batches, committing each to a store; rebuild the exchange from the store after
    the batches numbered in `restarts`, as the engine does after a crash."""
    store = MemoryStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo",
                             "IS_SNAPSHOTTING_ENABLED": "y"})

    def encode_snapshot(aggregate):
        return store.snapshots.mapper.to_stored_event(type(aggregate).Snapshot.take(aggregate))

    def new_applier(exchange, position):
        return BatchApplier(exchange, position, ReceiptCache(), snapshot_every=3,
                            encode_snapshot=encode_snapshot, encode_event=store.mapper.to_stored_event)

    applier = new_applier(Exchange(), 0)
    aggregate_ids: list = []
    outcomes = []
    messages = [FakeMessage(data, seq=seq, at=T0 + seq * 1000) for seq, data in enumerate(datas, 1)]
    for number, start in enumerate(range(0, len(messages), batch_size)):
        batch = [receive(message, OPERATORS) for message in messages[start:start + batch_size]]
        job = applier.apply(batch, set())
        outcomes += [(r.receipt.command_id, r.receipt.accepted, r.receipt.reason) for r in job.recorded]
        store.recorder.insert_events(job.events)
        for stored in job.snapshots:
            store.snapshots.recorder.insert_events([stored])
        aggregate_ids += [e.originator_id for e in job.events
                          if e.originator_version == 1 and "Receipt" not in e.topic]
        if number in restarts:
            if not snapshots:
                store.repository.snapshot_store = None
            exchange = Exchange.from_aggregates(store.repository.get(i) for i in aggregate_ids)
            cache = applier.cache  # receipts: the engine would find them in the store
            applier = new_applier(exchange, applier.applied_seq)
            applier.cache = cache
    return applier.exchange.state_hash(), outcomes


@settings(max_examples=20, deadline=None)
@given(st.lists(trading_step, min_size=1, max_size=40), st.integers(1, 6),
       st.sets(st.integers(0, 40)), st.booleans())
def test_a_rebuild_from_the_store_at_any_batch_boundary_changes_nothing(steps, batch, restarts,
                                                                        snapshots):
    datas = commands_from(steps)
    never_stopped = run_with_restarts(datas, batch, set(), snapshots)
    assert run_with_restarts(datas, batch, restarts, snapshots) == never_stopped
