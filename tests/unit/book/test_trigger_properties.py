"""Laws of the trigger book on random sequences (hypothesis).

- a trigger fires only when its condition holds at the price, and none that holds is left waiting;
- fired triggers come out by (trigger price, arrival);
- a sell trailing stop's trigger never moves down, a buy's never up;
- snapshot -> restore behaves identically.
"""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.book import Side, TriggerBook, TriggerDirection, TriggerKind, TriggerOrder

add_trigger = st.tuples(
    st.just("add"),
    st.sampled_from(list(Side)),
    st.sampled_from(list(TriggerKind)),
    st.integers(80, 120),
    st.integers(1, 15),
    st.booleans(),
)
steps = st.lists(st.one_of(add_trigger, st.tuples(st.just("price"), st.integers(70, 130))), max_size=50)


def run(triggers: TriggerBook, sequence: list, start_price: int = 100) -> list:
    outcomes, price = [], start_price
    for index, step in enumerate(sequence, start=1):
        if step[0] == "price":
            price = step[1]
            before = {p.order.trigger_id: p.trigger_price for p in _all(triggers) if p.reference_price is not None}
            sides = {p.order.trigger_id: p.order.side for p in _all(triggers)}
            directions = {p.order.trigger_id: p.direction for p in _all(triggers)}
            fired = triggers.on_price(price)
            _check_fired(triggers, fired, price, directions)
            for pending in _all(triggers):
                if pending.order.trigger_id in before:
                    moved = pending.trigger_price - before[pending.order.trigger_id]
                    assert moved >= 0 if sides[pending.order.trigger_id] is Side.SELL else moved <= 0
            outcomes.append(fired)
            continue
        _, side, kind, level, trail, by_bps = step
        fields = dict(trigger_id=index, account="alice", side=side, size=1, kind=kind)
        if kind is TriggerKind.TRAILING_STOP:
            fields["trail_bps" if by_bps else "trail_amount"] = trail * 100 if by_bps else trail
        else:
            fields["trigger_price"] = level
        if kind in (TriggerKind.STOP_LIMIT, TriggerKind.TAKE_PROFIT_LIMIT):
            fields["limit_price"] = level
        outcomes.append(triggers.add(TriggerOrder(**fields), reference_price=price))
    return outcomes


def _all(triggers: TriggerBook):
    return triggers.orders_of("alice")


def _holds(direction: TriggerDirection, trigger_price: int, price: int) -> bool:
    return price >= trigger_price if direction is TriggerDirection.RISES_TO else price <= trigger_price


def _check_fired(triggers: TriggerBook, fired: list, price: int, directions: dict) -> None:
    for item in fired:
        assert _holds(directions[item.order.trigger_id], item.trigger_price, price)
    assert [(t.trigger_price, t.sequence) for t in fired] == sorted((t.trigger_price, t.sequence) for t in fired)
    assert not [p for p in _all(triggers) if _holds(p.direction, p.trigger_price, price)]


@settings(max_examples=200, deadline=None)
@given(steps)
def test_triggers_fire_exactly_when_their_condition_holds(sequence):
    run(TriggerBook(), sequence)


@settings(max_examples=100, deadline=None)
@given(steps, steps)
def test_snapshot_restore_behaves_identically(head, tail):
    triggers = TriggerBook()
    run(triggers, head)
    restored = TriggerBook.restore(json.loads(json.dumps(triggers.snapshot())))  # JSON-safe plain data
    assert restored.state_digest() == triggers.state_digest()
    # Padding keeps the tail's trigger ids fresh (ids are step indexes)
    padded = [("price", 100)] * len(head) + tail
    assert run(restored, padded, start_price=100) == run(triggers, padded, start_price=100)
    assert restored.canonical() == triggers.canonical()
