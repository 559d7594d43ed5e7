"""Typed results of the query functions, which are also the API's response schemas.

Amounts are integers in the exchange's fixed-point units (price and quote 1e6, base size 1e9,
funding 1e9, ratios bps); sums that may exceed 64 bits (volumes) are decimal strings.
Times are ISO-8601 UTC; `position` is the event's global log sequence (the consistency token).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class Market(BaseModel):
    market: str
    status: str
    tick_size: int | None
    lot_size: int | None
    min_size: int | None
    max_leverage: int | None
    initial_margin_bps: int | None
    maintenance_margin_bps: int | None
    maker_fee_bps: int | None
    taker_fee_bps: int | None
    parameters: dict[str, Any]
    last_price: int | None
    last_trade_at: datetime | None
    volume_24h_base: str
    volume_24h_quote: str
    trades_24h: int
    open_interest: int
    funding_rate: int | None
    funding_at: datetime | None
    mark_price: int | None
    oracle_price: int | None
    position: int


class Level(BaseModel):
    price: int
    size: int
    orders: int


class OrderBook(BaseModel):
    market: str
    position: int  # the book is exact as of this log position; deltas after it follow
    bids: list[Level]
    asks: list[Level]


class BookDelta(BaseModel):
    market: str
    position: int
    side: str
    price: int
    size: int  # the level's new total size; 0 = the level is gone
    orders: int


class Trade(BaseModel):
    trade_id: int
    market: str
    position: int
    at: datetime
    price: int
    size: int
    quote: int
    taker_side: str


class Candle(BaseModel):
    market: str
    resolution: str
    bucket: datetime
    open: int
    high: int
    low: int
    close: int
    base_volume: str
    quote_volume: str
    trades: int


class FundingRate(BaseModel):
    market: str
    position: int
    rate: int
    mark_price: int | None
    index_price: int | None
    at: datetime


class Position(BaseModel):
    account: str
    market: str
    size: int
    entry_notional: int
    entry_price: int
    realized_pnl: int
    fees: int
    position: int
    at: datetime


class Balance(BaseModel):
    account: str
    asset: str
    amount: int
    position: int


class AccountState(BaseModel):
    account: str
    as_of_position: int  # the state is exact as of this log position
    balances: list[Balance]
    positions: list[Position]


class Order(BaseModel):
    market: str
    order_id: str
    account: str
    client_order_id: str | None
    side: str | None
    order_type: str | None
    time_in_force: str | None
    price: int | None
    size: int | None
    filled: int
    remaining: int
    status: str
    reason: str | None
    reduce_only: bool
    placed_at: datetime
    updated_at: datetime
    position: int


class Fill(BaseModel):
    account: str
    position: int
    fill_index: int
    market: str
    order_id: str
    side: str
    liquidity: str
    price: int
    size: int
    notional: int
    fee: int
    realized_pnl: int
    at: datetime


class Transfer(BaseModel):
    account: str
    position: int
    kind: str
    asset: str
    amount: int
    counterparty: str | None
    status: str
    at: datetime


class FundingPayment(BaseModel):
    account: str
    market: str
    position: int
    rate: int
    amount: int
    position_size: int
    at: datetime


class PnlHour(BaseModel):
    account: str
    hour: datetime
    realized_pnl: int
    fees: int
    funding: int
    volume: int
    net: int


class Liquidation(BaseModel):
    account: str
    market: str
    position: int
    size: int
    price: int
    margin_ratio_bps: int | None
    maintenance_margin: int
    collateral_value: int
    penalty: int
    liquidator: str | None
    reason: str
    inputs: dict[str, Any]
    explanation: str
    at: datetime


class InsuranceFundChange(BaseModel):
    position: int
    delta: int
    balance: int
    reason: str
    account: str | None
    at: datetime


class Receipt(BaseModel):
    client_command_id: str
    account: str
    command_type: str | None
    outcome: str
    reason_code: str | None
    message: str | None
    events: list[Any]
    seq: int
    position: int
    at: datetime


class ProjectorStatus(BaseModel):
    projector: str
    position: int
    consistent_through: int
    events_applied: int
