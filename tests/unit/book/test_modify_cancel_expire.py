"""Modify (cancel-replace) priority rules, cancel, cancel-all and GTT expiry."""

from domain.book import CancelReason, OrderBook, PostOnly, RejectReason, Side, TimeInForce

from .builders import buy, sell, traded


def _queue(book, side, price):
    return [order.order_id for order in book.orders_at(side, price)]


def test_shrinking_at_the_same_price_keeps_time_priority():
    book = OrderBook()
    # Given a queue at 100: first, then second
    book.place(buy(100, 10, order_id="first"))
    book.place(buy(100, 10, order_id="second"))

    # When the first shrinks to 4 at the same price
    result = book.modify("first", new_price=100, new_size=4)

    # Then it keeps its place at the head, with 4
    assert result.accepted and result.kept_priority and result.replaced is None
    assert (result.old_price, result.old_size) == (100, 10)
    assert _queue(book, Side.BUY, 100) == ["first", "second"] and book.level_size(Side.BUY, 100) == 14


def test_growing_or_moving_loses_priority():
    book = OrderBook()
    book.place(buy(100, 10, order_id="first"))
    book.place(buy(100, 10, order_id="second"))

    # When the first grows to 12, it goes to the back of the queue
    grown = book.modify("first", new_price=100, new_size=12)
    assert not grown.kept_priority and grown.replaced.resting_size == 12
    assert _queue(book, Side.BUY, 100) == ["second", "first"]

    # When the second moves to 99 and back to 100, it is behind the first now
    book.modify("second", new_price=99, new_size=10)
    book.modify("second", new_price=100, new_size=10)
    assert _queue(book, Side.BUY, 100) == ["first", "second"]


def test_a_modify_that_crosses_trades_like_a_new_order():
    book = OrderBook()
    # Given a bid at 99 and an offer at 101
    book.place(buy(99, 5, order_id="bid"))
    book.place(sell(101, 3, order_id="ask"))

    # When the bid is moved to 101
    result = book.modify("bid", new_price=101, new_size=5)

    # Then it trades 3 with the offer and rests 2 at 101
    assert traded(result.replaced) == [("ask", 101, 3)]
    assert book.order("bid").size == 2 and book.best_bid() == 101


def test_a_rejected_modify_leaves_the_order_as_it_was():
    book = OrderBook()
    book.place(buy(99, 5, order_id="maker", post_only=PostOnly.REJECT))
    book.place(sell(101, 3))
    before = book.state_digest()
    # A post-only order cannot be moved across the spread; bad sizes and unknown ids are rejected
    assert book.modify("maker", new_price=101, new_size=5).reject_reason is RejectReason.POST_ONLY_WOULD_CROSS
    assert book.modify("maker", new_price=99, new_size=0).reject_reason is RejectReason.INVALID_SIZE
    assert book.modify("nobody", new_price=99, new_size=1).reject_reason is RejectReason.UNKNOWN_ORDER
    assert book.state_digest() == before


def test_cancel_and_cancel_all_by_account():
    book = OrderBook()
    # Given alice with two bids and an offer, and bob with a bid
    book.place(buy(100, 1, order_id="a1"))
    book.place(sell(110, 1, account="alice", order_id="a2"))
    book.place(buy(99, 1, order_id="a3"))
    book.place(buy(98, 1, account="bob", order_id="b1"))

    # When alice cancels a1, then an unknown id
    cancelled = book.cancel("a1")
    assert (cancelled.order_id, cancelled.size, cancelled.reason) == ("a1", 1, CancelReason.USER)
    assert book.cancel("a1") is None

    # And she cancels all her sell orders, then everything else (dead-man switch)
    assert [c.order_id for c in book.cancel_all("alice", side=Side.SELL)] == ["a2"]
    remaining = book.cancel_all("alice", reason=CancelReason.DEAD_MAN_SWITCH)
    assert [(c.order_id, c.reason) for c in remaining] == [("a3", CancelReason.DEAD_MAN_SWITCH)]

    # Then only bob's bid is left, and open sizes per account follow
    assert book.open_size("alice", Side.BUY) == 0 and book.open_size("bob", Side.BUY) == 1
    assert [o.order_id for o in book.orders_of("bob")] == ["b1"] and book.orders_of("alice") == []
    assert len(book) == book.order_count() == book.order_count("bob") == 1 and book.order_count("alice") == 0


def test_good_till_time_orders_expire_in_expiry_then_arrival_order():
    book = OrderBook()
    # Given GTT orders expiring at 50, 20 and 20 (in that arrival order) and a GTC order
    book.place(buy(100, 1, order_id="late", time_in_force=TimeInForce.GTT, expires_at=50))
    book.place(buy(99, 1, order_id="early-1", time_in_force=TimeInForce.GTT, expires_at=20))
    book.place(sell(120, 1, order_id="early-2", time_in_force=TimeInForce.GTT, expires_at=20))
    book.place(buy(98, 1, order_id="forever"))

    # When time reaches 19 nothing expires; at 20 the two early ones go, in arrival order
    assert book.expire(19) == []
    expired = book.expire(20)
    assert [(c.order_id, c.reason) for c in expired] == [("early-1", CancelReason.EXPIRED), ("early-2", CancelReason.EXPIRED)]

    # And an order filled before its expiry is not expired again
    book.place(sell(100, 1))
    assert book.expire(10**12) == [] and [o.order_id for o in book.orders_of("alice")] == ["forever"]
