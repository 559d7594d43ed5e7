"""Post-only (reject or slide) and self-trade prevention (cancel resting or cancel taker)."""

from domain.book import CancelReason, OrderBook, PostOnly, RejectReason, SelfTradePrevention, Side, TimeInForce

from .builders import buy, sell, traded


def test_post_only_reject_refuses_to_take_liquidity():
    book = OrderBook(tick_size=1)
    # Given an offer at 100
    book.place(sell(100, 5))

    # When a post-only (reject) buy at 100 arrives, it is rejected and nothing trades
    crossing = book.place(buy(100, 5, post_only=PostOnly.REJECT))
    assert crossing.reject_reason is RejectReason.POST_ONLY_WOULD_CROSS
    assert book.level_size(Side.SELL, 100) == 5

    # When one at 99 arrives, it rests as a maker
    passive = book.place(buy(99, 5, post_only=PostOnly.REJECT))
    assert passive.resting_price == 99 and book.best_bid() == 99


def test_post_only_slide_rests_one_tick_inside_the_opposite_best():
    book = OrderBook(tick_size=5)
    # Given a bid at 100 and an offer at 120
    book.place(buy(100, 5))
    book.place(sell(120, 5))

    # When a post-only (slide) sell at 90 arrives, it rests at 105: one tick above the best bid
    slid = book.place(sell(90, 3, post_only=PostOnly.SLIDE, order_id="slider"))
    assert slid.accepted and slid.fills == () and slid.resting_price == 105
    assert book.order("slider").price == 105 and book.best_ask() == 105

    # And a post-only (slide) buy that would not cross keeps its own price
    assert book.place(buy(95, 1, post_only=PostOnly.SLIDE)).resting_price == 95


def test_post_only_cannot_be_immediate():
    book = OrderBook()
    order = buy(100, 1, post_only=PostOnly.REJECT, time_in_force=TimeInForce.IOC)
    assert book.place(order).reject_reason is RejectReason.INVALID_ORDER


def test_self_trade_cancel_resting_removes_our_maker_and_keeps_matching():
    book = OrderBook()
    # Given alice's own offer ahead of bob's at the same price
    book.place(sell(100, 4, account="alice", order_id="alice-ask"))
    book.place(sell(100, 4, account="bob", order_id="bob-ask"))

    # When alice buys 4 with cancel-resting
    result = book.place(buy(100, 4, account="alice", self_trade=SelfTradePrevention.CANCEL_RESTING))

    # Then her resting order is cancelled (self trade) and she trades with bob instead
    assert [(c.order_id, c.size, c.reason) for c in result.maker_cancels] == [
        ("alice-ask", 4, CancelReason.SELF_TRADE)
    ]
    assert traded(result) == [("bob-ask", 100, 4)]
    assert len(book) == 0


def test_self_trade_cancel_taker_cancels_the_incoming_remainder():
    book = OrderBook()
    # Given bob's offer ahead of alice's own offer
    book.place(sell(100, 2, account="bob", order_id="bob-ask"))
    book.place(sell(100, 4, account="alice", order_id="alice-ask"))

    # When alice buys 5 with cancel-taker
    result = book.place(buy(100, 5, account="alice", self_trade=SelfTradePrevention.CANCEL_TAKER))

    # Then she trades 2 with bob, reaches her own order, and the other 3 are cancelled
    assert traded(result) == [("bob-ask", 100, 2)]
    assert result.cancelled_size == 3 and result.cancel_reason is CancelReason.SELF_TRADE
    # And her resting order is untouched
    assert book.order("alice-ask").size == 4 and book.best_bid() is None
