"""The relay's reading of the log: every stored event becomes one message, in log order, with its
attributes intact and its subject decided by its aggregate's key (eventsourcing's in-memory
recorder, the same Application API the PostgreSQL store has)."""

from eventsourcing.application import Application
from hypothesis import given, settings
from hypothesis import strategies as st

from bus import subjects, wire
from bus.relay_source import StoreSource
from tests.integration.relay.ledger import Account, Market

OWNERS = [f"owner{i}" for i in range(4)]
STEPS = st.lists(
    st.tuples(st.sampled_from(OWNERS + ["SOL-PERP", "BTC-PERP"]), st.integers(1, 10**12)),
    min_size=1, max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(STEPS, st.integers(1, 7))
def test_every_stored_event_is_read_once_in_order_with_its_attributes(steps, window):
    # Given events of accounts and markets saved in one application
    application = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    aggregates, expected = {}, []
    for seq, (key, amount) in enumerate(steps, start=1):
        is_market = key.endswith("-PERP")
        aggregate = aggregates.get(key)
        if aggregate is None:
            aggregate = (Market(key, at=seq, seq=seq) if is_market else Account(key, at=seq, seq=seq))
            aggregates[key] = aggregate
            expected.append((("market" if is_market else "account"), key, "Listed" if is_market else "Opened"))
        elif is_market:
            aggregate.trade(key, price=amount, size=1, at=seq, seq=seq)
            expected.append(("market", key, "Traded"))
        else:
            aggregate.deposit(amount, at=seq, seq=seq)
            expected.append(("account", key, "Deposited"))
        application.save(aggregate)

    # When the relay's source reads the log window by window
    source = StoreSource(application.recorder, application.mapper)
    outgoing, after = [], 0
    while batch := source.read(after, window):
        outgoing.extend(batch)
        after = batch[-1].position

    # Then each event appears once, in log order, routed by its aggregate's key
    assert [message.position for message in outgoing] == list(range(1, len(steps) + 1))
    assert [subjects.parse_event(message.subject) for message in outgoing] == expected
    decoded = [wire.decode(message.data) for message in outgoing]
    assert [event.seq for event in decoded] == list(range(1, len(steps) + 1))
    for event, (key, amount) in zip(decoded, steps):
        if event.event_type == "Deposited":
            assert wire.payload_dict(event) == {"amount": amount}
