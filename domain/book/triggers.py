"""Off-book trigger orders: stops, take-profits and trailing stops waiting for a price.

Pure and deterministic like the book. A trigger waits here, keyed by its trigger price and
direction, until `on_price(price)` (called by the risk engine with mark/oracle prices) finds its
condition true; it then leaves this structure and is returned for the caller to place on the book
as a market or limit order. Fired triggers come out ordered by (trigger price, arrival sequence).

Direction follows from kind and side:
- stop (market/limit) and trailing stop: a BUY fires when price >= trigger, a SELL when price <= trigger.
- take-profit (market/limit): a BUY fires when price <= trigger, a SELL when price >= trigger.
Trailing stops follow the best price seen since they were added (the highest for a SELL, the
lowest for a BUY): trigger = reference -/+ offset, where offset is `trail_amount`, or
`reference * trail_bps // 10_000` (rounded down: the trigger sits closer to the reference).
`add` never fires a trigger: the next `on_price` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .types import AccountKey, ClientOrderId, OrderId, RejectReason, Side


class TriggerKind(StrEnum):
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"
    TAKE_PROFIT_MARKET = "take_profit_market"
    TAKE_PROFIT_LIMIT = "take_profit_limit"
    TRAILING_STOP = "trailing_stop"  # becomes a market order when triggered


class TriggerDirection(StrEnum):
    RISES_TO = "rises_to"  # fires when price >= trigger price
    FALLS_TO = "falls_to"  # fires when price <= trigger price


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerOrder:
    """A conditional order. `trigger_price` is required except for trailing stops, which take
    exactly one of `trail_amount` / `trail_bps`; `limit_price` is required for *_LIMIT kinds and
    is the worst price a market kind's caller may use otherwise (optional)."""

    trigger_id: OrderId
    account: AccountKey
    side: Side
    size: int
    kind: TriggerKind
    trigger_price: int | None = None
    limit_price: int | None = None
    trail_amount: int | None = None
    trail_bps: int | None = None
    reduce_only: bool = False
    client_order_id: ClientOrderId | None = None


@dataclass(frozen=True, slots=True)
class PendingTrigger:
    """A waiting trigger with its current trigger price (trailing stops move it)."""

    order: TriggerOrder
    direction: TriggerDirection
    trigger_price: int
    reference_price: int | None  # trailing stops: best price seen so far
    sequence: int


@dataclass(frozen=True, slots=True)
class Triggered:
    """A trigger that fired at `price`; the caller now places `order` on the book."""

    order: TriggerOrder
    trigger_price: int
    price: int
    sequence: int


class TriggerBook:
    """The waiting trigger orders of one market."""

    def __init__(self) -> None:
        raise NotImplementedError

    def add(self, order: TriggerOrder, reference_price: int | None = None) -> RejectReason | None:
        """Start waiting; trailing stops need the current `reference_price`. None = accepted."""
        raise NotImplementedError

    def cancel(self, trigger_id: OrderId) -> PendingTrigger | None:
        """Stop waiting; None if there is no such trigger."""
        raise NotImplementedError

    def cancel_all(self, account: AccountKey) -> list[PendingTrigger]:
        """Remove every trigger of an account, in arrival order."""
        raise NotImplementedError

    def on_price(self, price: int) -> list[Triggered]:
        """Move trailing stops, then remove and return the triggers whose condition holds."""
        raise NotImplementedError

    def get(self, trigger_id: OrderId) -> PendingTrigger | None:
        """A waiting trigger by id, or None."""
        raise NotImplementedError

    def orders_of(self, account: AccountKey) -> list[PendingTrigger]:
        """The waiting triggers of an account, in arrival order."""
        raise NotImplementedError

    def __len__(self) -> int:
        """The number of waiting triggers."""
        raise NotImplementedError

    def snapshot(self) -> dict:
        """Plain JSON-safe data from which `restore` rebuilds this structure."""
        raise NotImplementedError

    @classmethod
    def restore(cls, snapshot: dict) -> "TriggerBook":
        """Rebuild from `snapshot()` data."""
        raise NotImplementedError

    def canonical(self) -> dict:
        """The deterministic plain form of the whole state."""
        raise NotImplementedError

    def state_digest(self) -> str:
        """A sha256 hex digest of the canonical state."""
        raise NotImplementedError
