"""The plain values of trigger orders and the rules that give their direction and trigger price.

Direction follows from kind and side: stops (and trailing stops) buy on a rise and sell on a
fall; take-profits buy on a fall and sell on a rise. A trailing stop's trigger sits `offset`
away from its reference (the best price seen): `trail_amount`, or
`reference * trail_bps // 10_000` (rounded down, so the trigger sits closer to the reference).
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


def direction_of(kind: TriggerKind, side: Side) -> TriggerDirection:
    """Stops (incl. trailing) buy on a rise and sell on a fall; take-profits the other way."""
    is_take_profit = kind in (TriggerKind.TAKE_PROFIT_MARKET, TriggerKind.TAKE_PROFIT_LIMIT)
    rises = (side is Side.BUY) != is_take_profit
    return TriggerDirection.RISES_TO if rises else TriggerDirection.FALLS_TO


def trail_trigger(order: TriggerOrder, reference: int) -> int:
    offset = order.trail_amount if order.trail_amount is not None else reference * order.trail_bps // 10_000
    return reference - offset if order.side is Side.SELL else reference + offset


def is_positive_int(value: object) -> bool:
    return type(value) is int and value > 0


def check_trigger(order: TriggerOrder, reference_price: int | None) -> RejectReason | None:
    if not is_positive_int(order.size):
        return RejectReason.INVALID_SIZE
    if order.kind in (TriggerKind.STOP_LIMIT, TriggerKind.TAKE_PROFIT_LIMIT) and not is_positive_int(
        order.limit_price
    ):
        return RejectReason.INVALID_PRICE
    if order.limit_price is not None and not is_positive_int(order.limit_price):
        return RejectReason.INVALID_PRICE
    has_amount, has_bps = order.trail_amount is not None, order.trail_bps is not None
    if order.kind is not TriggerKind.TRAILING_STOP:
        if has_amount or has_bps:
            return RejectReason.INVALID_ORDER
        return None if is_positive_int(order.trigger_price) else RejectReason.INVALID_PRICE
    if has_amount == has_bps or order.trigger_price is not None:
        return RejectReason.INVALID_ORDER
    if has_amount and not is_positive_int(order.trail_amount):
        return RejectReason.INVALID_ORDER
    if has_bps and not (is_positive_int(order.trail_bps) and order.trail_bps < 10_000):
        return RejectReason.INVALID_ORDER
    return None if is_positive_int(reference_price) else RejectReason.INVALID_PRICE
