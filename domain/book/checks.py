"""The book's own checks of an incoming order or a modify, each giving a typed RejectReason.

A rejected call changes nothing. These are the checks the book needs to stay consistent (types,
positive sizes, the tick grid, unique ids, coherent order kinds); business checks (lot size,
minimum size, margin, reduce-only, market status) belong to the domain before the book.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .levels import BookOrder
from .types import NewOrder, OrderType, PostOnly, RejectReason, SelfTradePrevention, Side, TimeInForce

if TYPE_CHECKING:
    from .order_book import OrderBook

_OFF, _REJECT = PostOnly.OFF, PostOnly.REJECT
_MARKET = OrderType.MARKET
_GTT = TimeInForce.GTT
_IMMEDIATE = (TimeInForce.IOC, TimeInForce.FOK)


def check_new(book: "OrderBook", order: NewOrder) -> RejectReason | None:
    """Why the book cannot take this order, or None."""
    reason = check_price_size(book.tick_size, order.price, order.size)
    if reason is not None:
        return reason
    if type(order.order_id) not in (int, str) or not _is_text_or_none(order.client_order_id):
        return RejectReason.INVALID_ORDER
    if not (  # a bare "buy" string would silently mean "sell" in identity comparisons
        type(order.side) is Side
        and type(order.order_type) is OrderType
        and type(order.time_in_force) is TimeInForce
        and type(order.post_only) is PostOnly
        and type(order.self_trade) is SelfTradePrevention
    ):
        return RejectReason.INVALID_ORDER
    if order.order_id in book.orders:
        return RejectReason.DUPLICATE_ORDER_ID
    if order.client_order_id is not None and (order.account, order.client_order_id) in book.by_client_id:
        return RejectReason.DUPLICATE_CLIENT_ORDER_ID
    if order.post_only is not _OFF and (order.order_type is _MARKET or order.time_in_force in _IMMEDIATE):
        return RejectReason.INVALID_ORDER
    if order.time_in_force is _GTT and type(order.expires_at) is not int:
        return RejectReason.MISSING_EXPIRY
    return None


def check_price_size(tick_size: int, price: int, size: int) -> RejectReason | None:
    """A positive int size and a positive int price on the tick grid."""
    if type(size) is not int or size <= 0:
        return RejectReason.INVALID_SIZE
    if type(price) is not int or price <= 0 or price % tick_size:
        return RejectReason.INVALID_PRICE
    return None


def check_replacement_post_only(book: "OrderBook", order: BookOrder, new_price: int) -> RejectReason | None:
    """A post-only replacement that would be rejected must leave the old order untouched."""
    if order.post_only is _OFF:
        return None
    is_buy = order.side is Side.BUY
    best = book.best_ask() if is_buy else book.best_bid()
    if best is None or (new_price < best if is_buy else new_price > best):
        return None
    if order.post_only is _REJECT:
        return RejectReason.POST_ONLY_WOULD_CROSS
    if is_buy and best - book.tick_size <= 0:
        return RejectReason.INVALID_PRICE
    return None


def _is_text_or_none(value: object) -> bool:
    return value is None or type(value) is str
