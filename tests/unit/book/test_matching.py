"""Matching narratives: price-time priority, partial fills, market, IOC and FOK orders."""

from domain.book import CancelReason, Level, NewOrder, OrderBook, OrderType, RejectReason, Side, TimeInForce

from .builders import buy, sell, traded


def test_price_then_time_priority_decides_who_trades_first():
    book = OrderBook()
    # Given three sellers: two at 101 (first, then second) and a better one at 100 who came last
    first = book.place(sell(101, 5, order_id="first"))
    second = book.place(sell(101, 5, order_id="second"))
    best = book.place(sell(100, 5, order_id="best"))
    assert first.resting_size == second.resting_size == best.resting_size == 5

    # When a buyer takes 12 up to 101
    result = book.place(buy(101, 12, order_id="taker"))

    # Then the better price trades first, then the earlier order at 101, then the later one
    assert traded(result) == [("best", 100, 5), ("first", 101, 5), ("second", 101, 2)]
    assert result.filled_size == 12 and result.resting_size == 0
    # And the partly filled order keeps its place with what is left
    assert book.order("second").size == 3
    assert book.depth(Side.SELL) == [Level(price=101, size=3, orders=1)]


def test_a_partial_fill_rests_the_remainder_at_the_limit():
    book = OrderBook()
    # Given 4 offered at 100
    book.place(sell(100, 4))

    # When a buyer bids 10 at 100
    result = book.place(buy(100, 10, order_id="bidder"))

    # Then 4 trade, the other 6 rest as the best bid, and the book is not crossed
    assert result.filled_size == 4 and result.resting_size == 6 and result.resting_price == 100
    assert book.best_bid() == 100 and book.best_ask() is None
    assert book.order("bidder").size == 6
    # And the fill says the maker is gone
    assert result.fills[0].maker_remaining == 0


def test_a_market_order_stops_at_its_protective_price_and_never_rests():
    book = OrderBook()
    # Given offers at 100 and 110
    book.place(sell(100, 5))
    book.place(sell(110, 5))

    # When a market buy of 10 arrives with a worst price of 105
    result = book.place(buy(105, 10, order_type=OrderType.MARKET))

    # Then it takes only what is at or better than 105 and cancels the rest
    assert result.filled_size == 5 and result.resting_size == 0
    assert result.cancelled_size == 5 and result.cancel_reason is CancelReason.IMMEDIATE_REMAINDER
    assert book.best_bid() is None and book.best_ask() == 110


def test_immediate_or_cancel_fills_what_it_can_and_cancels_the_rest():
    book = OrderBook()
    # Given 3 offered at 100
    book.place(sell(100, 3))

    # When an IOC buy for 8 at 100 arrives
    result = book.place(buy(100, 8, time_in_force=TimeInForce.IOC))

    # Then 3 trade and 5 are cancelled: nothing rests
    assert (result.filled_size, result.resting_size, result.cancelled_size) == (3, 0, 5)
    assert len(book) == 0


def test_fill_or_kill_fills_everything_or_nothing():
    book = OrderBook()
    # Given 3 at 100 and 3 at 101 on offer
    book.place(sell(100, 3, order_id="a"))
    book.place(sell(101, 3, order_id="b"))

    # When a FOK buy for 7 up to 101 arrives, there is not enough: it is rejected, nothing trades
    killed = book.place(buy(101, 7, time_in_force=TimeInForce.FOK))
    assert killed.reject_reason is RejectReason.FOK_NOT_FILLED and not killed.accepted
    assert killed.fills == () and book.level_size(Side.SELL, 100) == 3

    # When a FOK buy for 6 up to 101 arrives, it all fills at once
    filled = book.place(buy(101, 6, time_in_force=TimeInForce.FOK))
    assert traded(filled) == [("a", 100, 3), ("b", 101, 3)] and len(book) == 0


def test_fill_or_kill_does_not_count_liquidity_it_may_not_trade_with():
    book = OrderBook()
    # Given alice's own offer in front of bob's
    book.place(sell(100, 5, account="alice"))
    book.place(sell(100, 2, account="bob"))

    # When alice sends a FOK buy for 5 with cancel-taker self-trade prevention
    result = book.place(buy(100, 5, account="alice", time_in_force=TimeInForce.FOK))

    # Then it is killed: her own order stops the walk before bob's 2, and nothing changed
    assert result.reject_reason is RejectReason.FOK_NOT_FILLED
    assert book.level_size(Side.SELL, 100) == 7


def test_bad_input_is_rejected_with_a_reason_and_changes_nothing():
    book = OrderBook(tick_size=5)
    before = book.state_digest()
    # Each bad order gets its typed reason
    assert book.place(buy(100, 0)).reject_reason is RejectReason.INVALID_SIZE
    assert book.place(buy(-5, 1)).reject_reason is RejectReason.INVALID_PRICE
    assert book.place(buy(101, 1)).reject_reason is RejectReason.INVALID_PRICE  # off the tick grid
    assert book.place(buy(100, 1, time_in_force=TimeInForce.GTT)).reject_reason is RejectReason.MISSING_EXPIRY
    # And the book is untouched
    assert book.state_digest() == before


def test_duplicate_ids_are_rejected_and_client_ids_are_found_in_one_lookup():
    book = OrderBook()
    # Given alice's resting order with client id "c-1"
    book.place(buy(100, 1, order_id="o-1", client_order_id="c-1"))

    # Then the same order id or the same client id of alice is rejected, bob may reuse "c-1"
    assert book.place(buy(99, 1, order_id="o-1")).reject_reason is RejectReason.DUPLICATE_ORDER_ID
    assert book.place(buy(99, 1, client_order_id="c-1")).reject_reason is RejectReason.DUPLICATE_CLIENT_ORDER_ID
    assert book.place(buy(99, 1, account="bob", client_order_id="c-1")).accepted

    # And alice's order is found by her client id
    assert book.order_by_client_id("alice", "c-1").order_id == "o-1"
    assert book.order_by_client_id("carol", "c-1") is None


def test_untyped_values_are_rejected_rather_than_misread():
    book = OrderBook()
    # A bare "buy" string instead of Side.BUY, or a list as an order id, is refused, not guessed
    assert book.place(NewOrder(order_id=1, account="a", side="buy", price=1, size=1)).reject_reason is (
        RejectReason.INVALID_ORDER
    )
    assert book.place(NewOrder(order_id=[1], account="a", side=Side.BUY, price=1, size=1)).reject_reason is (
        RejectReason.INVALID_ORDER
    )
    assert book.place(buy(100, 1.5)).reject_reason is RejectReason.INVALID_SIZE
    assert len(book) == 0
    # Queries accept the plain string values too
    book.place(buy(100, 2))
    assert book.level_size("buy", 100) == 2 and book.depth("buy")[0].size == 2
