"""Conversions between the Market's JSON-safe event payloads and the book's values.

Payloads are plain dicts (ints, strs, bools, None) so events round-trip exactly; the book takes
and returns frozen dataclasses and StrEnums.
"""

from typing import Any

from .book import (
    CancelReason,
    NewOrder,
    OrderType,
    PostOnly,
    SelfTradePrevention,
    Side,
    TimeInForce,
    TriggerKind,
    TriggerOrder,
)
from .market_params import MarketParams
from .numbers import fee_amount, notional_floor

BOOK_CANCEL_REASONS = {r.value: r for r in CancelReason}


def new_order_from(order: dict) -> NewOrder:
    """The book's order from an `OrderPlaced` order payload."""
    return NewOrder(
        order_id=order["order_id"],
        account=order["account"],
        side=Side(order["side"]),
        price=order["price"],
        size=order["size"],
        order_type=OrderType(order["order_type"]),
        time_in_force=TimeInForce(order["time_in_force"]),
        post_only=PostOnly(order["post_only"]),
        self_trade=SelfTradePrevention(order["self_trade"]),
        expires_at=order["expires_at"],
        client_order_id=order["client_order_id"],
    )


def resting_payload(resting: Any) -> dict:
    """A resting order as it leaves the book by cancellation."""
    return {
        "order_id": resting.order_id, "account": resting.account, "side": str(resting.side),
        "price": resting.price, "size": resting.size, "client_order_id": resting.client_order_id,
    }


def cancelled_payload(cancelled: Any) -> dict:
    """A book `Cancelled` as plain data."""
    return {
        "order_id": cancelled.order_id, "account": cancelled.account, "side": str(cancelled.side),
        "price": cancelled.price, "size": cancelled.size, "client_order_id": cancelled.client_order_id,
    }


def trigger_order_from(trigger: dict) -> Any:
    """The book's TriggerOrder from a `TriggerOrderPlaced` payload."""
    return TriggerOrder(
        trigger_id=trigger["order_id"], account=trigger["account"], side=Side(trigger["side"]),
        size=trigger["size"], kind=TriggerKind(trigger["kind"]), trigger_price=trigger["trigger_price"],
        limit_price=trigger["limit_price"], trail_amount=trigger["trail_amount"],
        trail_bps=trigger["trail_bps"], reduce_only=trigger["reduce_only"],
        client_order_id=trigger["client_order_id"],
    )


def trigger_payload(waiting: Any) -> dict:
    """A waiting trigger (book `PendingTrigger`) as it leaves by cancellation."""
    order = waiting.order
    return {
        "order_id": order.trigger_id, "account": order.account, "side": str(order.side), "size": order.size,
        "kind": str(order.kind), "trigger_price": waiting.trigger_price, "client_order_id": order.client_order_id,
    }


def placement_payload(result: Any, params: MarketParams) -> dict:
    """The JSON-safe record of a book `PlaceResult`, with the fees of each fill at `params`' rates."""
    fills = []
    for fill in result.fills:
        notional = notional_floor(fill.price, fill.size)
        fills.append({
            "maker_order_id": fill.maker_order_id,
            "maker_account": fill.maker_account,
            "maker_client_order_id": fill.maker_client_order_id,
            "price": fill.price,
            "size": fill.size,
            "notional": notional,
            "maker_fee": fee_amount(notional, params.maker_fee_bps),
            "taker_fee": fee_amount(notional, params.taker_fee_bps),
            "maker_remaining": fill.maker_remaining,
        })
    return {
        "fills": fills,
        "rested_size": result.resting_size,
        "rested_price": result.resting_price,
        "cancelled_size": result.cancelled_size,
        "cancel_reason": None if result.cancel_reason is None else str(result.cancel_reason),
        "stp_cancelled": [cancelled_payload(c) for c in result.maker_cancels],
    }
