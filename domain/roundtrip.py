"""The cost of one eventsourcing aggregate round trip, as a workload (no clock in here).

`make_round_trip()` returns a zero-argument callable doing what the engine does per command for
one order that trades: trigger the events (one `Market.OrderPlaced`, two `Account.TradeSettled`),
collect them, map each to a stored event with eventsourcing's JSON transcoder and back. Time it
from outside the domain, e.g.:

    python -c "import timeit, domain.roundtrip as r; f = r.make_round_trip(); \
               n = 20000; print(n / timeit.timeit(f, number=n), 'round trips/s')"
"""

from typing import Callable

from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Mapper, UUIDAsHex

from .exchange import Exchange

_ALICE = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"
_BOB = "HN7cABqLq46Es1jh92dQQisAq662SmxELLLsHHe4YWrH"
_ONE = 1_000_000_000
_PRICE = 1_000_000


def json_mapper() -> Mapper:
    """eventsourcing's mapper with the JSON transcoder an Application uses by default."""
    transcoder = JSONTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DatetimeAsISO())
    return Mapper(transcoder=transcoder)


def make_round_trip() -> Callable[[], int]:
    """A callable performing one trading round trip; returns the number of events it mapped."""
    exchange = Exchange()
    mapper = json_mapper()
    clock = {"at": 1_700_000_000_000_000_000, "seq": 0}

    def context() -> tuple[int, int]:
        clock["at"] += 1_000
        clock["seq"] += 1
        return clock["at"], clock["seq"]

    exchange.create_market(
        *context(), symbol="SOL-PERP", base_asset="SOL", tick_size=1_000, lot_size=10_000_000,
        min_size=10_000_000, max_leverage=20, initial_margin_bps=500, maintenance_margin_bps=300,
        maker_fee_bps=-2, taker_fee_bps=5,
    )
    for owner in (_ALICE, _BOB):
        exchange.deposit(*context(), owner=owner, sub_account=0, asset="USDC", amount=10**15)
    for aggregate in exchange.collect_changed():
        aggregate.collect_events()
    sides = [("sell", _ALICE), ("buy", _BOB), ("buy", _ALICE), ("sell", _BOB)]
    step = {"i": 0}

    def one_round_trip() -> int:
        mapped = 0
        for _ in range(2):  # a resting order, then the order that trades against it
            side, owner = sides[step["i"] % 4]
            step["i"] += 1
            exchange.place_order(*context(), owner=owner, sub_account=0, market="SOL-PERP", side=side, size=_ONE, price=100 * _PRICE)
            for aggregate in exchange.collect_changed():
                for event in aggregate.collect_events():
                    mapper.to_domain_event(mapper.to_stored_event(event))
                    mapped += 1
        return mapped

    return one_round_trip


def make_simple_round_trip() -> Callable[[], int]:
    """A callable doing the bare aggregate round trip: one `Account.Deposited` triggered,
    collected, mapped to a stored event and back (no matching, no margin)."""
    exchange = Exchange()
    mapper = json_mapper()
    clock = {"at": 1_700_000_000_000_000_000, "seq": 0}
    exchange.open_account(clock["at"], 0, owner=_ALICE)
    for aggregate in exchange.collect_changed():
        aggregate.collect_events()

    def one_round_trip() -> int:
        clock["at"] += 1_000
        clock["seq"] += 1
        exchange.deposit(clock["at"], clock["seq"], owner=_ALICE, sub_account=0, asset="USDC", amount=1)
        for aggregate in exchange.collect_changed():
            for event in aggregate.collect_events():
                mapper.to_domain_event(mapper.to_stored_event(event))
        return 1

    return one_round_trip
