"""Internal resting orders and price levels: an intrusive doubly linked queue per price.

A level keeps its orders in arrival order (head = oldest = first to trade) with O(1) append and
O(1) removal from anywhere (cancel, fill), plus its total size and order count so depth queries
never walk the queue. Invariant: within a level, `sequence` strictly increases head to tail.
Not part of the public API: callers see `RestingOrder` views.
"""

from __future__ import annotations

from .types import PostOnly, RestingOrder, SelfTradePrevention, Side, TimeInForce


class BookOrder:
    """A mutable resting order, linked into its level's queue."""

    __slots__ = (
        "order_id",
        "account",
        "side",
        "price",
        "size",
        "sequence",
        "time_in_force",
        "post_only",
        "self_trade",
        "expires_at",
        "client_order_id",
        "level",
        "prev",
        "next",
    )

    def __init__(
        self,
        order_id,
        account,
        side: Side,
        price: int,
        size: int,
        sequence: int,
        time_in_force: TimeInForce,
        post_only: PostOnly,
        self_trade: SelfTradePrevention,
        expires_at: int | None,
        client_order_id: str | None,
    ) -> None:
        self.order_id = order_id
        self.account = account
        self.side = side
        self.price = price
        self.size = size
        self.sequence = sequence
        self.time_in_force = time_in_force
        self.post_only = post_only
        self.self_trade = self_trade
        self.expires_at = expires_at
        self.client_order_id = client_order_id
        self.level: PriceLevel | None = None
        self.prev: BookOrder | None = None
        self.next: BookOrder | None = None

    def view(self) -> RestingOrder:
        """An immutable copy for callers."""
        return RestingOrder(
            order_id=self.order_id,
            account=self.account,
            side=self.side,
            price=self.price,
            size=self.size,
            sequence=self.sequence,
            time_in_force=self.time_in_force,
            post_only=self.post_only,
            self_trade=self.self_trade,
            expires_at=self.expires_at,
            client_order_id=self.client_order_id,
        )

    def plain(self) -> list:
        """The JSON-safe row used by snapshots and the canonical state."""
        return [
            self.order_id,
            self.account,
            self.side.value,
            self.price,
            self.size,
            self.sequence,
            self.time_in_force.value,
            self.post_only.value,
            self.self_trade.value,
            self.expires_at,
            self.client_order_id,
        ]

    @classmethod
    def from_plain(cls, row: list) -> "BookOrder":
        """The inverse of `plain`."""
        order_id, account, side, price, size, sequence, tif, post_only, stp, expires_at, coid = row
        return cls(
            order_id,
            account,
            Side(side),
            price,
            size,
            sequence,
            TimeInForce(tif),
            PostOnly(post_only),
            SelfTradePrevention(stp),
            expires_at,
            coid,
        )


class PriceLevel:
    """The queue of orders resting at one price on one side."""

    __slots__ = ("price", "size", "count", "head", "tail")

    def __init__(self, price: int) -> None:
        self.price = price
        self.size = 0
        self.count = 0
        self.head: BookOrder | None = None
        self.tail: BookOrder | None = None

    def append(self, order: BookOrder) -> None:
        """Queue an order behind the others (it has the latest arrival)."""
        order.level = self
        order.next = None
        tail = self.tail
        order.prev = tail
        if tail is None:
            self.head = order
        else:
            tail.next = order
        self.tail = order
        self.size += order.size
        self.count += 1

    def remove(self, order: BookOrder) -> None:
        """Unlink an order from anywhere in the queue, taking its remaining size off the level."""
        prev, nxt = order.prev, order.next
        if prev is None:
            self.head = nxt
        else:
            prev.next = nxt
        if nxt is None:
            self.tail = prev
        else:
            nxt.prev = prev
        order.prev = order.next = order.level = None
        self.size -= order.size
        self.count -= 1

    def orders(self):
        """The orders in queue order, oldest first."""
        order = self.head
        while order is not None:
            yield order
            order = order.next
