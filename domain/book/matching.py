"""The matching walk: an incoming order against the opposite side, best price first.

Fills happen at the maker's price. Within a level the oldest order trades first (price-time
priority). Self-trade prevention is decided by the incoming order: CANCEL_RESTING removes our
own resting order and keeps walking; CANCEL_TAKER stops the walk and the caller cancels the
remainder. The walk never goes past the incoming order's limit (a market order's worst price).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .types import CancelReason, Cancelled, Fill, NewOrder, SelfTradePrevention, Side

if TYPE_CHECKING:
    from .order_book import OrderBook

_CANCEL_RESTING = SelfTradePrevention.CANCEL_RESTING
_SELF_TRADE = CancelReason.SELF_TRADE
_BUY = Side.BUY


def match_incoming(book: "OrderBook", order: NewOrder) -> tuple[tuple[Fill, ...], tuple[Cancelled, ...], int, bool]:
    """Trade `order` against the book: (fills, self-trade maker cancels, remaining, stopped by STP)."""
    is_buy = order.side is _BUY
    levels = book.ask_levels if is_buy else book.bid_levels
    limit = order.price
    remaining = order.size
    account = order.account
    cancel_resting = order.self_trade is _CANCEL_RESTING
    taker_id, side = order.order_id, order.side
    fills: list[Fill] = []
    maker_cancels: list[Cancelled] = []
    while remaining:
        best = book.best_ask_price if is_buy else book.best_bid_price
        if best is None or ((best > limit) if is_buy else (best < limit)):
            break
        level = levels[best]
        maker = level.head
        while maker is not None:
            following = maker.next
            if maker.account == account:
                if not cancel_resting:
                    return tuple(fills), tuple(maker_cancels), remaining, True
                maker_cancels.append(book.remove(maker, _SELF_TRADE))
            else:
                traded = maker.size if maker.size < remaining else remaining
                maker.size -= traded
                remaining -= traded
                fills.append(
                    Fill(taker_id, account, side, maker.order_id, maker.account, maker.client_order_id,
                         best, traded, maker.size)
                )  # fmt: skip
                if maker.size:
                    level.size -= traded  # a partial fill ends the walk: remaining is 0
                    book.open_sizes[maker.account][is_buy] -= traded  # the maker is a sell if we buy
                    break
                maker.size = traded  # detach() takes the size it still counts off the level and account
                book.detach(maker)
                if not remaining:
                    break
            maker = following
    return tuple(fills), tuple(maker_cancels), remaining, False


def fillable_size(book: "OrderBook", order: NewOrder) -> int:
    """How much of `order` could trade now within its limit, under its self-trade rule (capped)."""
    is_buy = order.side is _BUY
    if is_buy:
        levels, prices = book.ask_levels, book.ask_prices
    else:
        levels, prices = book.bid_levels, reversed(book.bid_prices)
    limit, wanted, account = order.price, order.size, order.account
    cancel_resting = order.self_trade is _CANCEL_RESTING
    available = 0
    for price in prices:
        if (price > limit) if is_buy else (price < limit):
            break
        for maker in levels[price].orders():
            if maker.account == account:
                if cancel_resting:
                    continue
                return available
            available += maker.size
            if available >= wanted:
                return available
    return available
