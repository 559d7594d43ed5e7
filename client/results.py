"""Typed views of the account events a bot usually reads (decoded from ``EventMessage.payload``).

Decoding ignores fields it does not know, so new event fields never break an older bot.
Units: prices 1e6, sizes 1e9, money 1e6 (USDC), as everywhere on QuantDesk.
"""

from __future__ import annotations

import msgspec

from bus import wire


class Fill(msgspec.Struct, frozen=True, kw_only=True):
    """One side of one trade, as settled on an account."""

    order_id: int
    side: str  # "buy" | "sell"
    price: int
    size: int
    fee: int  # negative = rebate
    realized_pnl: int
    liquidity: str  # "maker" | "taker"


class Settlement(msgspec.Struct, frozen=True, kw_only=True):
    """One sub-account's fills of one command, and its position afterwards."""

    sub_account: int
    fills: list[Fill]
    base_after: int
    entry_notional_after: int
    realized_pnl: int
    fees: int


class TradeSettled(msgspec.Struct, frozen=True, kw_only=True):
    """Payload of ``Account.TradeSettled``: the fills of one command in one market."""

    market: str
    settlements: list[Settlement]


class Deposited(msgspec.Struct, frozen=True, kw_only=True):
    """Payload of ``Account.Deposited``."""

    sub_account: int
    asset: str
    amount: int
    reference: str | None = None


def fills_of(event: wire.EventMessage) -> list[tuple[str, int, Fill]]:
    """(market, sub_account, fill) for every fill in a ``TradeSettled`` event; [] otherwise."""
    if event.event_type != "TradeSettled":
        return []
    settled = wire.payload_as(event, TradeSettled)
    return [(settled.market, settlement.sub_account, fill)
            for settlement in settled.settlements for fill in settlement.fills]
