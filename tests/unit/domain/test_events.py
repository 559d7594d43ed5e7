"""Event payload rules: plain JSON-exact types only, `at`/`seq` everywhere, every event class
round-trips through eventsourcing's mapper (JSON transcoder) and msgspec JSON."""

import msgspec
from eventsourcing.domain import CanMutateAggregate
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Mapper, UUIDAsHex

from domain.account import Account
from domain.market import Market
from domain.oracle import InsuranceFund, Oracle

from .conftest import Commands
from .scenarios import grand_tour

AGGREGATES = (Market, Account, Oracle, InsuranceFund)
OWN_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def all_event_classes() -> set[type]:
    """Every concrete event class declared by our aggregates."""
    found = set()
    for aggregate in AGGREGATES:
        for value in vars(aggregate).values():
            if isinstance(value, type) and issubclass(value, CanMutateAggregate) and value.__name__ != "Event":
                found.add(value)
    found.discard(Account.Created)  # inherited but unused: an account is created by `Opened`
    return found


def is_plain(value: object) -> bool:
    """int, str, bool, None, lists and str-keyed dicts of those."""
    if value is None or type(value) in (int, str, bool):
        return True
    if type(value) is list:
        return all(is_plain(v) for v in value)
    if type(value) is dict:
        return all(type(k) is str and is_plain(v) for k, v in value.items())
    return False


def test_the_tour_records_every_event_class():
    _, events = grand_tour(Commands())
    assert {type(e) for e in events} == all_event_classes()


def test_every_event_carries_at_seq_and_only_plain_values():
    _, events = grand_tour(Commands())
    for event in events:
        payload = {k: v for k, v in vars(event).items() if k not in OWN_FIELDS}
        assert type(payload.pop("at")) is int and type(payload.pop("seq")) is int, event
        assert is_plain(payload), event


def test_every_event_round_trips_through_the_mapper_and_msgspec():
    transcoder = JSONTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DatetimeAsISO())
    mapper = Mapper(transcoder=transcoder)
    _, events = grand_tour(Commands())
    for event in events:
        assert mapper.to_domain_event(mapper.to_stored_event(event)) == event
        payload = {k: v for k, v in vars(event).items() if k not in OWN_FIELDS}
        assert msgspec.json.decode(msgspec.json.encode(payload)) == payload


def test_events_are_identical_across_runs():
    # No clock and no randomness: two runs of the same commands record equal events,
    # timestamps and aggregate ids included.
    _, first = grand_tour(Commands())
    _, second = grand_tour(Commands())
    assert first == second
