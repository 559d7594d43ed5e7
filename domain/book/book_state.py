"""The book's plain, canonical state: snapshot, restore and digest.

The canonical form lists every resting order as a plain row, bids best to worst then asks best
to worst, each level oldest first: exactly the order in which `load` re-inserts them, so a
restored book has the same priority, the same sequence counter and the same digest.
Account keys and order ids must be str or int for this form to be JSON-safe.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from .levels import BookOrder

if TYPE_CHECKING:
    from .order_book import OrderBook

VERSION = 1


def canonical(book: "OrderBook") -> dict:
    """The whole state as JSON-safe data in a deterministic order."""
    rows = []
    for price in reversed(book.bid_prices):
        rows.extend(order.plain() for order in book.bid_levels[price].orders())
    for price in book.ask_prices:
        rows.extend(order.plain() for order in book.ask_levels[price].orders())
    return {
        "version": VERSION,
        "tick_size": book.tick_size,
        "next_sequence": book.next_sequence,
        "orders": rows,
    }


def load(book: "OrderBook", state: dict) -> None:
    """Fill an empty book from `canonical` data."""
    if state.get("version") != VERSION:
        raise ValueError(f"unsupported book snapshot version {state.get('version')!r}")
    book.next_sequence = state["next_sequence"]
    for row in state["orders"]:
        book.insert(BookOrder.from_plain(row))


def digest(state: dict) -> str:
    """sha256 over the compact, key-sorted JSON encoding of a canonical state."""
    encoded = json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(encoded.encode()).hexdigest()
