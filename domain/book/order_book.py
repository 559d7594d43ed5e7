"""The central limit order book of one market: price-time priority matching.

Pure and deterministic: no I/O, no clock, no randomness, integers only. The same operations in
the same order give the same results and the same state, bit for bit, so the Market aggregate
rebuilds the book by re-running the inputs its events recorded (there is no `apply(result)`).
`snapshot()`/`restore()` give plain JSON-safe data for aggregate snapshots and
`state_digest()` a hash of the canonical state.

Invariants (checked by tests/unit/book):
- Ordering: price-time priority; the arrival sequence decides at one price.
- The book is never crossed after an operation: best bid < best ask.
- Size is conserved: submitted == filled + resting + cancelled, per accepted order.
- Every resting order has size > 0 and sits in exactly one level and the id map.

Known limits: the book does not read time, so GTT orders leave only through `expire(now)`; the
caller runs it with the command's time before each operation if it wants strict expiry.
Prices must be multiples of `tick_size`; lot sizes, minimum sizes, margin and reduce-only are the
domain's checks (for reduce-only, submit the size already capped).
"""

from __future__ import annotations

import heapq

from sortedcontainers import SortedList

from . import book_state
from .checks import check_new, check_price_size, check_replacement_post_only
from .levels import BookOrder, PriceLevel
from .matching import fillable_size, match_incoming
from .queries import BookQueries
from .types import (
    AccountKey,
    Cancelled,
    CancelReason,
    ClientOrderId,
    ModifyResult,
    NewOrder,
    OrderId,
    OrderType,
    PlaceResult,
    PostOnly,
    RejectReason,
    Side,
    TimeInForce,
)

# Enum members as module constants: the hot path compares identities without attribute lookups.
_BUY = Side.BUY
_OFF, _REJECT = PostOnly.OFF, PostOnly.REJECT
_MARKET = OrderType.MARKET
_GTT, _FOK = TimeInForce.GTT, TimeInForce.FOK
_IMMEDIATE = (TimeInForce.IOC, TimeInForce.FOK)


class OrderBook(BookQueries):
    """One market's book. `tick_size` is the price grid (and the post-only slide step)."""

    def __init__(self, tick_size: int = 1) -> None:
        if type(tick_size) is not int or tick_size <= 0:
            raise ValueError("tick_size must be a positive int")
        self.tick_size = tick_size
        self.next_sequence = 1
        self.bid_levels: dict[int, PriceLevel] = {}
        self.ask_levels: dict[int, PriceLevel] = {}
        self.bid_prices = SortedList()  # ascending: best bid is the last
        self.ask_prices = SortedList()  # ascending: best ask is the first
        # The best prices, cached: read on every order, changed only when a level appears or goes.
        self.best_bid_price: int | None = None
        self.best_ask_price: int | None = None
        self.orders: dict[OrderId, BookOrder] = {}
        self.by_account: dict[AccountKey, dict[OrderId, BookOrder]] = {}
        # per account [resting buy size, resting sell size], kept as orders rest, trade and leave
        self.open_sizes: dict[AccountKey, list[int]] = {}
        self.by_client_id: dict[tuple[AccountKey, ClientOrderId], BookOrder] = {}
        # (expires_at, sequence, order_id) with lazy deletion: stale entries are skipped on pop
        self.expiries: list[tuple[int, int, OrderId]] = []

    # ----- commands -------------------------------------------------------------------------

    def place(self, order: NewOrder) -> PlaceResult:
        """Match an incoming order against the book, rest its remainder if its kind allows."""
        reason = check_new(self, order)
        if reason is not None:
            return _rejected(order.order_id, reason)
        is_buy = order.side is _BUY
        price = order.price
        if order.post_only is not _OFF:
            best = self.best_ask_price if is_buy else self.best_bid_price
            if best is not None and (price >= best if is_buy else price <= best):
                if order.post_only is _REJECT:
                    return _rejected(order.order_id, RejectReason.POST_ONLY_WOULD_CROSS)
                price = best - self.tick_size if is_buy else best + self.tick_size
                if price <= 0:
                    return _rejected(order.order_id, RejectReason.INVALID_PRICE)
            self._rest(order, price, order.size)
            return PlaceResult(order.order_id, None, (), 0, order.size, price, 0, None)
        if order.time_in_force is _FOK and fillable_size(self, order) < order.size:
            return _rejected(order.order_id, RejectReason.FOK_NOT_FILLED)
        best = self.best_ask_price if is_buy else self.best_bid_price
        if best is None or (best > price if is_buy else best < price):
            # Nothing to trade with (the common passive add): skip the matching walk.
            fills, maker_cancels, remaining, self_trade_stop = (), (), order.size, False
        else:
            fills, maker_cancels, remaining, self_trade_stop = match_incoming(self, order)
        filled = order.size - remaining
        if not remaining:
            return PlaceResult(order.order_id, None, fills, filled, 0, None, 0, None, maker_cancels)
        if self_trade_stop:
            reason = CancelReason.SELF_TRADE
        elif order.order_type is _MARKET or order.time_in_force in _IMMEDIATE:
            reason = CancelReason.IMMEDIATE_REMAINDER
        else:
            self._rest(order, price, remaining)
            return PlaceResult(order.order_id, None, fills, filled, remaining, price, 0, None, maker_cancels)
        return PlaceResult(order.order_id, None, fills, filled, 0, None, remaining, reason, maker_cancels)

    def cancel(self, order_id: OrderId, reason: CancelReason = CancelReason.USER) -> Cancelled | None:
        """Remove a resting order; None if the book has no such order (UnknownOrder)."""
        order = self.orders.get(order_id)
        if order is None:
            return None
        return self.remove(order, reason)

    def cancel_all(
        self, account: AccountKey, side: Side | None = None, reason: CancelReason = CancelReason.USER
    ) -> list[Cancelled]:
        """Remove every resting order of an account (optionally one side), in arrival order."""
        mine = self.by_account.get(account)
        if not mine:
            return []
        chosen = sorted((o for o in mine.values() if side is None or o.side == side), key=_by_sequence)
        return [self.remove(order, reason) for order in chosen]

    def modify(self, order_id: OrderId, *, new_price: int, new_size: int) -> ModifyResult:
        """Cancel-replace; keeps time priority only when the size shrinks at the same price.

        `new_size` is the new remaining size. Growing the size or changing the price removes the
        order and places it again (same id and attributes, new arrival), which may match.
        """
        order = self.orders.get(order_id)
        if order is None:
            return ModifyResult(order_id, RejectReason.UNKNOWN_ORDER, False, None, None)
        old_price, old_size = order.price, order.size
        reason = check_price_size(self.tick_size, new_price, new_size)
        if reason is None:
            reason = check_replacement_post_only(self, order, new_price)
        if reason is not None:
            return ModifyResult(order_id, reason, False, old_price, old_size)
        if new_price == old_price and new_size <= old_size:
            order.level.size -= old_size - new_size
            self.open_sizes[order.account][order.side is not _BUY] -= old_size - new_size
            order.size = new_size
            return ModifyResult(order_id, None, True, old_price, old_size)
        self.detach(order)
        replacement = NewOrder(
            order_id=order_id,
            account=order.account,
            side=order.side,
            price=new_price,
            size=new_size,
            time_in_force=order.time_in_force,
            post_only=order.post_only,
            self_trade=order.self_trade,
            expires_at=order.expires_at,
            client_order_id=order.client_order_id,
        )
        return ModifyResult(order_id, None, False, old_price, old_size, self.place(replacement))

    def expire(self, now: int) -> list[Cancelled]:
        """Remove GTT orders with expires_at <= now, by (expires_at, arrival sequence)."""
        expired = []
        heap = self.expiries
        while heap and heap[0][0] <= now:
            _, sequence, order_id = heapq.heappop(heap)
            order = self.orders.get(order_id)
            if order is not None and order.sequence == sequence:
                expired.append(self.remove(order, CancelReason.EXPIRED))
        return expired

    # ----- state ----------------------------------------------------------------------------

    def snapshot(self) -> dict:
        """Plain JSON-safe data (ints, strs, lists, dicts) from which `restore` rebuilds the book."""
        return book_state.canonical(self)

    @classmethod
    def restore(cls, snapshot: dict) -> "OrderBook":
        """Rebuild a book, priority and sequence counter included, from `snapshot()` data."""
        book = cls(snapshot["tick_size"])
        book_state.load(book, snapshot)
        return book

    def canonical(self) -> dict:
        """The deterministic plain form of the whole state (same as the snapshot)."""
        return book_state.canonical(self)

    def state_digest(self) -> str:
        """A sha256 hex digest of the canonical state, for state hashing."""
        return book_state.digest(book_state.canonical(self))

    # ----- internals shared with matching and book_state -------------------------------------

    def remove(self, order: BookOrder, reason: CancelReason) -> Cancelled:
        """Take a resting order off the book and describe the cancellation."""
        cancelled = Cancelled(
            order.order_id, order.account, order.side, order.price, order.size, reason, order.client_order_id
        )
        self.detach(order)
        return cancelled

    def detach(self, order: BookOrder) -> None:
        """Unlink an order from its level and every index; drop the level if it empties."""
        level = order.level
        level.remove(order)
        if not level.count:
            price = level.price
            if order.side is _BUY:
                del self.bid_levels[price]
                prices = self.bid_prices
                prices.remove(price)
                if price == self.best_bid_price:
                    self.best_bid_price = prices[-1] if prices else None
            else:
                del self.ask_levels[price]
                prices = self.ask_prices
                prices.remove(price)
                if price == self.best_ask_price:
                    self.best_ask_price = prices[0] if prices else None
        del self.orders[order.order_id]
        mine = self.by_account[order.account]
        del mine[order.order_id]
        if mine:
            self.open_sizes[order.account][order.side is not _BUY] -= order.size
        else:
            del self.by_account[order.account]
            del self.open_sizes[order.account]
        if order.client_order_id is not None:
            del self.by_client_id[(order.account, order.client_order_id)]

    def _rest(self, new: NewOrder, price: int, size: int) -> None:
        """Queue an order's remainder at the back of its price level."""
        sequence = self.next_sequence
        self.next_sequence = sequence + 1
        expires_at = new.expires_at if new.time_in_force is _GTT else None
        order = BookOrder(
            new.order_id, new.account, new.side, price, size, sequence, new.time_in_force,
            new.post_only, new.self_trade, expires_at, new.client_order_id,
        )  # fmt: skip
        self.insert(order)

    def insert(self, order: BookOrder) -> None:
        """Index an order and append it to its level (creating the level if needed)."""
        price = order.price
        if order.side is _BUY:
            level = self.bid_levels.get(price)
            if level is None:
                level = self.bid_levels[price] = PriceLevel(price)
                self.bid_prices.add(price)
                if self.best_bid_price is None or price > self.best_bid_price:
                    self.best_bid_price = price
        else:
            level = self.ask_levels.get(price)
            if level is None:
                level = self.ask_levels[price] = PriceLevel(price)
                self.ask_prices.add(price)
                if self.best_ask_price is None or price < self.best_ask_price:
                    self.best_ask_price = price
        level.append(order)
        self.orders[order.order_id] = order
        mine = self.by_account.get(order.account)
        if mine is None:
            mine = self.by_account[order.account] = {}
            self.open_sizes[order.account] = [0, 0]
        mine[order.order_id] = order
        self.open_sizes[order.account][order.side is not _BUY] += order.size
        if order.client_order_id is not None:
            self.by_client_id[(order.account, order.client_order_id)] = order
        if order.expires_at is not None:
            heap = self.expiries
            heapq.heappush(heap, (order.expires_at, order.sequence, order.order_id))
            if len(heap) > 64 and len(heap) > 2 * len(self.orders):
                # Lazy deletion leaves entries of filled/cancelled orders: rebuild from live ones.
                self.expiries = sorted(e for e in heap if _is_live(self.orders.get(e[2]), e[1]))


def _rejected(order_id: OrderId, reason: RejectReason) -> PlaceResult:
    return PlaceResult(order_id, reason, (), 0, 0, None, 0, None)


def _is_live(order: BookOrder | None, sequence: int) -> bool:
    return order is not None and order.sequence == sequence


def _by_sequence(order: BookOrder) -> int:
    return order.sequence
