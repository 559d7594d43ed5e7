"""The domain's event payloads (domain/market.py, domain/account.py), normalised in one place.

Accounts are named by the book's account key `<owner>/<sub_account>` everywhere in the read
models. Market events carry the market symbol in their subject key; Account events carry the
owner there and the sub-account in the payload. Integers are fixed point: price/quote 1e6,
base size 1e9, funding 1e9, ratios in bps.

Market.OrderPlaced: order{order_id, account, side, price, size, order_type, time_in_force,
  post_only, self_trade, expires_at, client_order_id, reduce_only}, fills[{maker_order_id,
  maker_account, maker_client_order_id, price, size, notional, maker_fee, taker_fee,
  maker_remaining}], rested_size, rested_price, cancelled_size, cancel_reason, stp_cancelled[].
Market.OrderModified: order_id, new_price, new_size, kept_priority, old_price, old_size,
  placement (as OrderPlaced without `order`, or None when priority was kept).
Market.OrdersCancelled: reason, cancelled[{order_id, account, side, price, size, client_order_id}];
  Market.OrdersExpired: cancelled[...].
Account.TradeSettled: market, settlements[{sub_account, fills[{order_id, side, price, size, fee,
  realized_pnl, liquidity}], base_after, entry_notional_after, realized_pnl, fees}].
Account.Deposited / WithdrawalRequested: sub_account, asset, amount (+ reference / withdrawal_id,
  destination); Account.Transferred: from_sub_account, to_sub_account, asset, amount.
Account.CommandRejected: command, reason, detail, sub_account, market, client_order_id.
CommandReceipt.Recorded: command_id, owner, sub_account, kind, accepted, reason, message, events.
Risk: Market.MarkPriceUpdated {mark_price, oracle_price, book_mid}; Market.FundingRateUpdated
  {rate, mark_price, index_price, period, periods, premium, clamp, payments, ...};
  Market.CircuitBreakerTripped / CircuitBreakerReset {status}; Account.FundingPaid {sub_account,
  market, rate, amount, position_size, period, index_price}; Account.Liquidated {sub_account,
  market, size, side, price, base_after, entry_notional_after, realized_pnl, penalty,
  liquidator_reward, insurance_fee, liquidator, reason, margin_ratio_bps (may be None),
  maintenance_margin, collateral_value, mark_price, oracle_*}; Account.LiquidationTakenOver
  {sub_account, market, base_after, entry_notional_after, realized_pnl, reward, ...};
  Account.DeficitCovered {insurance_covered, adl_covered, ...}; Account.AutoDeleveraged {amount};
  InsuranceFund.Funded {amount}; InsuranceFund.InsuranceFundChanged {delta, balance, reason,
  account, market}.
"""

from __future__ import annotations

from dataclasses import dataclass

from projections.event import ProjectedEvent

BASE_SCALE = 10**9  # notional (1e6) = price (1e6) * size (1e9) // 1e9


@dataclass(frozen=True, slots=True)
class TradeFill:
    """One match: the taker hit the maker's resting order at the maker's price."""

    index: int
    market: str
    taker_order_id: str
    taker_account: str
    taker_side: str
    maker_order_id: str
    maker_account: str
    price: int
    size: int
    notional: int
    maker_remaining: int
    taker_fee: int
    maker_fee: int

    @property
    def maker_side(self) -> str:
        return "sell" if self.taker_side == "buy" else "buy"


def account_key(owner: str, sub_account: int | str) -> str:
    """The account name used across the read models: `<owner>/<sub_account>`."""
    return f"{owner}/{int(sub_account)}"


def account_of(event: ProjectedEvent, sub_field: str = "sub_account") -> str:
    """The sub-account an Account event concerns."""
    return account_key(event.key, event.payload.get(sub_field) or 0)


def placement_of(event: ProjectedEvent) -> dict | None:
    """The book result an OrderPlaced/OrderModified carries (None for a modify that kept priority)."""
    if event.type == "OrderModified":
        return event.payload.get("placement")
    return event.payload


def fills_of(event: ProjectedEvent, taker: dict) -> list[TradeFill]:
    """The fills of a placement; `taker` holds the taker's order_id, account and side."""
    placement = placement_of(event) or {}
    result = []
    for index, fill in enumerate(placement.get("fills") or ()):
        price, size = int(fill["price"]), int(fill["size"])
        result.append(TradeFill(
            index=index, market=event.key, taker_order_id=str(taker["order_id"]),
            taker_account=str(taker["account"]), taker_side=str(taker["side"]),
            maker_order_id=str(fill["maker_order_id"]), maker_account=str(fill["maker_account"]),
            price=price, size=size, notional=int(fill.get("notional", price * size // BASE_SCALE)),
            maker_remaining=int(fill.get("maker_remaining", 0)),
            taker_fee=int(fill.get("taker_fee", 0)), maker_fee=int(fill.get("maker_fee", 0))))
    return result


def has_fills(event: ProjectedEvent) -> bool:
    return bool((placement_of(event) or {}).get("fills"))
