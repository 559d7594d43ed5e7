"""Laws of the book, checked on random operation sequences (hypothesis).

- each order kind keeps its promise (post-only never takes, FOK all or nothing, IOC and market
  never rest, no fill through the limit, no self trade);
- the book is never crossed after any operation;
- size is conserved: everything submitted is filled, resting or cancelled, per order and overall;
- every level's size is the sum of its orders;
- snapshot -> restore gives an identical canonical state that then behaves identically;
- the same operations always give the same results and the same state.
"""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.book import (
    NewOrder,
    OrderBook,
    OrderType,
    PostOnly,
    SelfTradePrevention,
    Side,
    TimeInForce,
)

ACCOUNTS = ("alice", "bob", "carol")

place_operation = st.builds(
    lambda side, price, size, tif, post_only, stp, account, market, expires: (
        "place",
        dict(side=side, price=price, size=size, time_in_force=tif, post_only=post_only, self_trade=stp,
             account=account, order_type=OrderType.MARKET if market else OrderType.LIMIT,
             expires_at=expires if tif is TimeInForce.GTT else None),
    ),  # fmt: skip
    st.sampled_from(list(Side)),
    st.integers(95, 105),
    st.integers(1, 12),
    st.sampled_from(list(TimeInForce)),
    st.sampled_from([PostOnly.OFF, PostOnly.OFF, PostOnly.REJECT, PostOnly.SLIDE]),
    st.sampled_from(list(SelfTradePrevention)),
    st.sampled_from(ACCOUNTS),
    st.booleans(),
    st.integers(1, 30),
)
operations = st.lists(
    st.one_of(
        place_operation,
        place_operation,
        place_operation,
        st.tuples(st.just("cancel"), st.integers(1, 60)),
        st.tuples(st.just("modify"), st.integers(1, 60), st.integers(95, 105), st.integers(1, 12)),
        st.tuples(st.just("expire"), st.integers(1, 30)),
        st.tuples(st.just("cancel_all"), st.sampled_from(ACCOUNTS)),
    ),
    max_size=60,
)


def run(book: OrderBook, ops: list, ledger: dict | None = None) -> list:
    """Apply operations in order; order ids are the operation index. Returns every result."""
    results = []
    for index, op in enumerate(ops, start=1):
        kind = op[0]
        if kind == "place":
            result = book.place(NewOrder(order_id=index, **op[1]))
            if ledger is not None and result.accepted:
                ledger["in"] += op[1]["size"]
                assert op[1]["size"] == result.filled_size + result.resting_size + result.cancelled_size
                _check_kind(op[1], result)
                _account(ledger, result)
        elif kind == "cancel":
            result = book.cancel(op[1])
            if ledger is not None and result is not None:
                ledger["cancelled"] += result.size
        elif kind == "modify":
            result = book.modify(op[1], new_price=op[2], new_size=op[3])
            if ledger is not None and result.accepted:
                if result.kept_priority:
                    ledger["cancelled"] += result.old_size - op[3]
                else:
                    ledger["cancelled"] += result.old_size
                    ledger["in"] += op[3]
                    _account(ledger, result.replaced)
        elif kind == "expire":
            result = book.expire(op[1])
            if ledger is not None:
                ledger["cancelled"] += sum(c.size for c in result)
        else:
            result = book.cancel_all(op[1])
            if ledger is not None:
                ledger["cancelled"] += sum(c.size for c in result)
        results.append(result)
        check_invariants(book, ledger)
    return results


def _check_kind(order: dict, result) -> None:
    """What each order kind promises: makers never take, FOK is all or nothing, IOC never rests."""
    if order["post_only"] is not PostOnly.OFF:
        assert result.fills == () and result.resting_size == order["size"]
    if order["time_in_force"] is TimeInForce.FOK:
        assert result.filled_size == order["size"]
    if order["time_in_force"] is TimeInForce.IOC or order["order_type"] is OrderType.MARKET:
        assert result.resting_size == 0
    for fill in result.fills:  # never through the limit, always at the maker's price
        assert fill.price <= order["price"] if order["side"] is Side.BUY else fill.price >= order["price"]
        assert fill.maker_account != order["account"]


def _account(ledger: dict, result) -> None:
    # A fill takes its size from the taker and the same size from the maker
    ledger["filled"] += 2 * result.filled_size
    ledger["cancelled"] += result.cancelled_size + sum(c.size for c in result.maker_cancels)


def check_invariants(book: OrderBook, ledger: dict | None) -> None:
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is None or ask is None or bid < ask, "crossed book"
    # the cached best prices agree with the sorted price index
    assert bid == next((level.price for level in book.iter_levels(Side.BUY)), None)
    assert ask == next((level.price for level in book.iter_levels(Side.SELL)), None)
    rows = book.canonical()["orders"]
    for side in Side:
        for level in book.iter_levels(side):
            queue = book.orders_at(side, level.price)
            assert level.size == sum(o.size for o in queue) and level.orders == len(queue) > 0
            assert all(o.size > 0 for o in queue)
            assert [o.sequence for o in queue] == sorted(o.sequence for o in queue)
    assert len(rows) == len(book)
    for account in ACCOUNTS:
        mine = book.orders_of(account)
        for side in Side:
            assert book.open_size(account, side) == sum(o.size for o in mine if o.side is side)
    if ledger is not None:
        resting = sum(row[4] for row in rows)
        assert ledger["in"] == resting + ledger["filled"] + ledger["cancelled"], "size not conserved"


@settings(max_examples=300, deadline=None)
@given(operations)
def test_never_crossed_and_size_is_conserved(ops):
    run(OrderBook(), ops, {"in": 0, "filled": 0, "cancelled": 0})


@settings(max_examples=150, deadline=None)
@given(operations, operations)
def test_snapshot_restore_gives_the_same_state_and_behaviour(before, after):
    book = OrderBook()
    run(book, before)
    restored = OrderBook.restore(json.loads(json.dumps(book.snapshot())))  # JSON-safe plain data
    assert restored.canonical() == book.canonical() and restored.state_digest() == book.state_digest()
    # The tail uses ids after the head's so the restored book sees the same fresh ids
    shifted = [("cancel", 10**6)] * len(before) + after
    assert run(restored, shifted)[len(before):] == run(book, shifted)[len(before):]
    assert restored.state_digest() == book.state_digest()


@settings(max_examples=150, deadline=None)
@given(operations)
def test_the_same_operations_give_the_same_results(ops):
    first, second = OrderBook(), OrderBook()
    assert run(first, ops) == run(second, ops)
    assert first.state_digest() == second.state_digest()
