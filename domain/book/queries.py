"""Read-only queries of the order book: best prices, depth, levels, orders, counts.

A mixin of `OrderBook` (kept apart so the matching module stays small). Queries return copies
(`Level`, `RestingOrder`), never the book's own mutable objects, and accept a `Side` or its
plain string value.
"""

from __future__ import annotations

from .types import AccountKey, ClientOrderId, Level, OrderId, RestingOrder, Side

_BUY = Side.BUY


class BookQueries:
    """Queries over the structures `OrderBook` maintains."""

    # ----- queries --------------------------------------------------------------------------

    def best_bid(self) -> int | None:
        """The highest resting buy price, or None."""
        return self.best_bid_price

    def best_ask(self) -> int | None:
        """The lowest resting sell price, or None."""
        return self.best_ask_price

    def depth(self, side: Side, levels: int = 10) -> list[Level]:
        """The top `levels` aggregated levels of a side, best first."""
        if side == _BUY:
            book, prices = self.bid_levels, self.bid_prices.islice(-levels, reverse=True) if levels > 0 else []
        else:
            book, prices = self.ask_levels, self.ask_prices.islice(0, max(levels, 0))
        return [Level(price, book[price].size, book[price].count) for price in prices]

    def iter_levels(self, side: Side):
        """All aggregated levels of a side, best first, lazily (stop iterating when done)."""
        if side == _BUY:
            book, prices = self.bid_levels, reversed(self.bid_prices)
        else:
            book, prices = self.ask_levels, iter(self.ask_prices)
        for price in prices:
            level = book[price]
            yield Level(price, level.size, level.count)

    def orders_at(self, side: Side, price: int) -> list[RestingOrder]:
        """The orders resting at one price of a side, in queue order (next to trade first)."""
        level = (self.bid_levels if side == _BUY else self.ask_levels).get(price)
        return [order.view() for order in level.orders()] if level is not None else []

    def level_size(self, side: Side, price: int) -> int:
        """The total resting size at one price of a side (0 if none)."""
        level = (self.bid_levels if side == _BUY else self.ask_levels).get(price)
        return level.size if level is not None else 0

    def order(self, order_id: OrderId) -> RestingOrder | None:
        """A resting order by id, or None."""
        order = self.orders.get(order_id)
        return order.view() if order is not None else None

    def order_by_client_id(self, account: AccountKey, client_order_id: ClientOrderId) -> RestingOrder | None:
        """A resting order by (account, client order id), O(1), or None."""
        order = self.by_client_id.get((account, client_order_id))
        return order.view() if order is not None else None

    def orders_of(self, account: AccountKey) -> list[RestingOrder]:
        """The resting orders of an account, in arrival order."""
        mine = self.by_account.get(account, {})
        return [order.view() for order in sorted(mine.values(), key=_by_sequence)]

    def open_size(self, account: AccountKey, side: Side) -> int:
        """The total resting size of an account's orders on one side, O(1) (for margin checks)."""
        sizes = self.open_sizes.get(account)
        return sizes[side != _BUY] if sizes is not None else 0

    def order_count(self, account: AccountKey | None = None) -> int:
        """The number of resting orders, of the whole book or of one account, O(1)."""
        if account is None:
            return len(self.orders)
        return len(self.by_account.get(account, ()))

    def __len__(self) -> int:
        """The number of resting orders."""
        return len(self.orders)

    def level_count(self, side: Side) -> int:
        """The number of non-empty price levels on a side."""
        return len(self.bid_levels if side == _BUY else self.ask_levels)


def _by_sequence(order) -> int:
    return order.sequence
