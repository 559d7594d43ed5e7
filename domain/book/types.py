"""The plain values the order book takes and returns.

Every book operation returns one of these frozen, slotted dataclasses: a complete description
of what happened (fills, what rested, what was cancelled and why), so the Market aggregate can
record it as one event. Enumerations are `StrEnum`s: their values are JSON-safe strings and the
reason codes read like the domain's event names (`PostOnlyWouldCross`, `FokNotFilled`, ...).

Identifiers are opaque to the book: an order id is an `int` or a `str`, an account is any
hashable key (use a `str` or `int` if you want `snapshot()` to stay JSON-safe). Prices and sizes
are positive integers in the market's ticks/lots or fixed-point units as the caller gives them;
the book never scales or rounds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Hashable, Union

OrderId = Union[int, str]
AccountKey = Hashable
ClientOrderId = str


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> "Side":
        """The side an order of this side trades against."""
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    LIMIT = "limit"
    # A market order carries a protective worst price: it is a limit order that never rests.
    MARKET = "market"


class TimeInForce(StrEnum):
    GTC = "gtc"  # good till cancelled: the remainder rests
    GTT = "gtt"  # good till time: rests until expire(now) with now >= expires_at
    IOC = "ioc"  # immediate or cancel: fill what is possible, cancel the rest
    FOK = "fok"  # fill or kill: fill all of it at once or nothing


class PostOnly(StrEnum):
    OFF = "off"
    REJECT = "reject"  # reject the order if it would take liquidity
    SLIDE = "slide"  # reprice one tick inside the opposite best, then rest


class SelfTradePrevention(StrEnum):
    CANCEL_RESTING = "cancel_resting"  # remove our resting order, keep matching
    CANCEL_TAKER = "cancel_taker"  # cancel the incoming order's remainder


class RejectReason(StrEnum):
    INVALID_SIZE = "InvalidSize"
    INVALID_PRICE = "InvalidPrice"
    INVALID_ORDER = "InvalidOrder"  # an impossible combination (e.g. post-only IOC)
    MISSING_EXPIRY = "MissingExpiry"  # GTT without expires_at
    DUPLICATE_ORDER_ID = "DuplicateOrderId"
    DUPLICATE_CLIENT_ORDER_ID = "DuplicateClientOrderId"
    POST_ONLY_WOULD_CROSS = "PostOnlyWouldCross"
    FOK_NOT_FILLED = "FokNotFilled"
    UNKNOWN_ORDER = "UnknownOrder"


class CancelReason(StrEnum):
    USER = "Cancelled"
    SELF_TRADE = "SelfTradePrevented"
    EXPIRED = "Expired"
    IMMEDIATE_REMAINDER = "ImmediateRemainder"  # IOC or market remainder with no more liquidity
    REPLACED = "Replaced"  # modify that lost priority: the old order left the book
    DEAD_MAN_SWITCH = "DeadManSwitch"
    ADMIN = "Admin"


@dataclass(frozen=True, slots=True, kw_only=True)
class NewOrder:
    """An order submitted to the book. `price` is the limit (or the worst price for MARKET)."""

    order_id: OrderId
    account: AccountKey
    side: Side
    price: int
    size: int
    order_type: OrderType = OrderType.LIMIT
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: PostOnly = PostOnly.OFF
    self_trade: SelfTradePrevention = SelfTradePrevention.CANCEL_TAKER
    expires_at: int | None = None  # int nanoseconds; required for GTT, ignored otherwise
    client_order_id: ClientOrderId | None = None


@dataclass(frozen=True, slots=True)
class Fill:
    """One trade: the taker hit the maker's resting order at the maker's price."""

    taker_order_id: OrderId
    taker_account: AccountKey
    taker_side: Side
    maker_order_id: OrderId
    maker_account: AccountKey
    maker_client_order_id: ClientOrderId | None
    price: int
    size: int
    maker_remaining: int  # what is left of the maker after this fill; 0 = filled and removed


@dataclass(frozen=True, slots=True)
class Cancelled:
    """A resting order that left the book without trading its remaining size."""

    order_id: OrderId
    account: AccountKey
    side: Side
    price: int
    size: int  # the remaining size that was cancelled
    reason: CancelReason
    client_order_id: ClientOrderId | None = None


@dataclass(frozen=True, slots=True)
class PlaceResult:
    """What happened to a submitted order.

    Size is conserved: for an accepted order,
    ``submitted size == filled_size + resting_size + cancelled_size``; a rejected order has all
    three at 0 and a `reject_reason`. `maker_cancels` are resting orders of the same account that
    self-trade prevention (cancel-resting) removed while matching.
    """

    order_id: OrderId
    reject_reason: RejectReason | None
    fills: tuple[Fill, ...]
    filled_size: int
    resting_size: int
    resting_price: int | None  # the price it rests at (after a post-only slide), None if not resting
    cancelled_size: int  # the taker's remainder that was cancelled
    cancel_reason: CancelReason | None
    maker_cancels: tuple[Cancelled, ...] = ()

    @property
    def accepted(self) -> bool:
        """True unless the order was rejected before touching the book."""
        return self.reject_reason is None


@dataclass(frozen=True, slots=True)
class ModifyResult:
    """What a modify (cancel-replace) did.

    Shrinking the size at the same price keeps time priority (`kept_priority`, `replaced` None).
    Any other change removes the old order and places the new one through normal matching with
    the same order id and attributes (`replaced` holds that placement); a no-change modify is a
    no-op that keeps priority. A rejected modify leaves the old order untouched.
    """

    order_id: OrderId
    reject_reason: RejectReason | None
    kept_priority: bool
    old_price: int | None
    old_size: int | None  # remaining size before the modify
    replaced: PlaceResult | None = None

    @property
    def accepted(self) -> bool:
        """True unless the modify was rejected and changed nothing."""
        return self.reject_reason is None


@dataclass(frozen=True, slots=True)
class RestingOrder:
    """A read-only view of an order resting on the book."""

    order_id: OrderId
    account: AccountKey
    side: Side
    price: int
    size: int  # remaining
    sequence: int  # arrival sequence in this book: lower is earlier at the same price
    time_in_force: TimeInForce
    post_only: PostOnly
    self_trade: SelfTradePrevention
    expires_at: int | None
    client_order_id: ClientOrderId | None


@dataclass(frozen=True, slots=True)
class Level:
    """One aggregated price level: total resting size and the number of orders."""

    price: int
    size: int
    orders: int
