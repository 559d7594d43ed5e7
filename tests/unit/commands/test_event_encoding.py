"""The engine's one-pass event encoder writes exactly what eventsourcing's own mapper and JSON
transcoder write: same topic, same ids, same bytes, for every event a trading session records
(domain events, receipts, rejections)."""

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Mapper
from hypothesis import given, settings
from hypothesis import strategies as st

from bus.engine_batch import BatchApplier, ReceiptCache
from bus.engine_intake import receive
from bus.engine_transcoder import FastEventEncoder, FastJSONTranscoder
from domain.exchange import Exchange
from tests.unit.commands.test_batch import OPERATORS, T0, commands_from, trading_step
from tests.unit.commands.test_intake import FakeMessage


def library_mapper(transcoder) -> Mapper:
    application = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    application.register_transcodings(transcoder)
    return Mapper(transcoder=transcoder)


STOCK = library_mapper(JSONTranscoder())
FAST = FastEventEncoder(library_mapper(FastJSONTranscoder()).transcoder)


def recorded_events(steps) -> list:
    applier = BatchApplier(Exchange(), 0, ReceiptCache())  # keeps the event objects
    messages = [FakeMessage(data, seq=seq, at=T0 + seq * 1000)
                for seq, data in enumerate(commands_from(steps), 1)]
    return applier.apply([receive(message, OPERATORS) for message in messages], set()).events


@settings(max_examples=15, deadline=None)
@given(st.lists(trading_step, min_size=1, max_size=30))
def test_the_fast_encoder_writes_the_libraries_bytes(steps):
    events = recorded_events(steps)
    assert len({type(event) for event in events}) >= 4  # markets, oracles, accounts, receipts
    for event in events:
        assert FAST(event) == STOCK.to_stored_event(event)


@settings(max_examples=15, deadline=None)
@given(st.lists(trading_step, min_size=1, max_size=30))
def test_the_hot_path_records_exactly_the_events_of_the_library_path(steps):
    from domain.aggregate import HotEventMethod

    hot = [STOCK.to_stored_event(event) for event in recorded_events(steps)]
    HotEventMethod.enabled = False
    try:
        library = [STOCK.to_stored_event(event) for event in recorded_events(steps)]
    finally:
        HotEventMethod.enabled = True
    assert hot == library
    assert any(stored.topic.endswith(("OrderPlaced", "CommandRejected")) for stored in hot)
