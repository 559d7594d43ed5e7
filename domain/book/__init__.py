"""The central limit order book and off-book trigger orders: pure, deterministic, integers only.

The Market aggregate owns an `OrderBook` (and a `TriggerBook`) and records what each call
returns as one event. Replaying events re-runs the same calls in the same order, which
rebuilds the same state (the book is deterministic); `snapshot()`/`restore()` serve aggregate
snapshots and `state_digest()` state hashing. See docs/architecture/book.md.
"""

from .order_book import OrderBook
from .triggers import PendingTrigger, Triggered, TriggerBook, TriggerDirection, TriggerKind, TriggerOrder
from .types import (
    AccountKey,
    Cancelled,
    CancelReason,
    ClientOrderId,
    Fill,
    Level,
    ModifyResult,
    NewOrder,
    OrderId,
    OrderType,
    PlaceResult,
    PostOnly,
    RejectReason,
    RestingOrder,
    SelfTradePrevention,
    Side,
    TimeInForce,
)

__all__ = [
    "AccountKey",
    "Cancelled",
    "CancelReason",
    "ClientOrderId",
    "Fill",
    "Level",
    "ModifyResult",
    "NewOrder",
    "OrderBook",
    "OrderId",
    "OrderType",
    "PendingTrigger",
    "PlaceResult",
    "PostOnly",
    "RejectReason",
    "RestingOrder",
    "SelfTradePrevention",
    "Side",
    "TimeInForce",
    "Triggered",
    "TriggerBook",
    "TriggerDirection",
    "TriggerKind",
    "TriggerOrder",
]
