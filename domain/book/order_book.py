"""The central limit order book of one market: price-time priority matching.

Pure and deterministic: no I/O, no clock, no randomness, integers only. The same operations in
the same order give the same results and the same state, bit for bit, so the Market aggregate
rebuilds the book by re-running the inputs its events recorded (there is no `apply(result)`).
`snapshot()`/`restore()` give plain JSON-safe data for aggregate snapshots and
`state_digest()` a hash of the canonical state.

Invariants (checked by tests/unit/book):
- Ordering: price-time priority; the arrival sequence decides at one price.
- The book is never crossed after an operation: best bid < best ask.
- Size is conserved: submitted == filled + resting + cancelled, per order.
- Every resting order has size > 0 and sits in exactly one level and the id map.
"""

from __future__ import annotations

from .types import (
    AccountKey,
    Cancelled,
    CancelReason,
    ClientOrderId,
    Level,
    ModifyResult,
    NewOrder,
    OrderId,
    PlaceResult,
    RestingOrder,
    Side,
)


class OrderBook:
    """One market's book. `tick_size` is used only to slide post-only orders one tick inside."""

    def __init__(self, tick_size: int = 1) -> None:
        raise NotImplementedError

    # ----- commands -------------------------------------------------------------------------

    def place(self, order: NewOrder) -> PlaceResult:
        """Match an incoming order against the book, rest its remainder if its kind allows."""
        raise NotImplementedError

    def cancel(self, order_id: OrderId, reason: CancelReason = CancelReason.USER) -> Cancelled | None:
        """Remove a resting order; None if the book has no such order (UnknownOrder)."""
        raise NotImplementedError

    def cancel_all(
        self, account: AccountKey, side: Side | None = None, reason: CancelReason = CancelReason.USER
    ) -> list[Cancelled]:
        """Remove every resting order of an account (optionally one side), in arrival order."""
        raise NotImplementedError

    def modify(self, order_id: OrderId, *, new_price: int, new_size: int) -> ModifyResult:
        """Cancel-replace; keeps time priority only when the size shrinks at the same price."""
        raise NotImplementedError

    def expire(self, now: int) -> list[Cancelled]:
        """Remove GTT orders with expires_at <= now, by (expires_at, arrival sequence)."""
        raise NotImplementedError

    # ----- queries --------------------------------------------------------------------------

    def best_bid(self) -> int | None:
        """The highest resting buy price, or None."""
        raise NotImplementedError

    def best_ask(self) -> int | None:
        """The lowest resting sell price, or None."""
        raise NotImplementedError

    def depth(self, side: Side, levels: int = 10) -> list[Level]:
        """The top `levels` aggregated levels of a side, best first."""
        raise NotImplementedError

    def level_size(self, side: Side, price: int) -> int:
        """The total resting size at one price of a side (0 if none)."""
        raise NotImplementedError

    def order(self, order_id: OrderId) -> RestingOrder | None:
        """A resting order by id, or None."""
        raise NotImplementedError

    def order_by_client_id(self, account: AccountKey, client_order_id: ClientOrderId) -> RestingOrder | None:
        """A resting order by (account, client order id), O(1), or None."""
        raise NotImplementedError

    def orders_of(self, account: AccountKey) -> list[RestingOrder]:
        """The resting orders of an account, in arrival order."""
        raise NotImplementedError

    def __len__(self) -> int:
        """The number of resting orders."""
        raise NotImplementedError

    def level_count(self, side: Side) -> int:
        """The number of non-empty price levels on a side."""
        raise NotImplementedError

    # ----- state ----------------------------------------------------------------------------

    def snapshot(self) -> dict:
        """Plain JSON-safe data (ints, strs, lists, dicts) from which `restore` rebuilds the book."""
        raise NotImplementedError

    @classmethod
    def restore(cls, snapshot: dict) -> "OrderBook":
        """Rebuild a book, priority and sequence counter included, from `snapshot()` data."""
        raise NotImplementedError

    def canonical(self) -> dict:
        """The deterministic plain form of the whole state (same as the snapshot)."""
        raise NotImplementedError

    def state_digest(self) -> str:
        """A sha256 hex digest of the canonical state, for state hashing."""
        raise NotImplementedError
