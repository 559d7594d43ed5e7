"""Position arithmetic and margin figures, including liquidation and leverage limits."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.position import apply_fill, unrealized_pnl
from domain.rejections import Rejected, RejectReason

from .conftest import ALICE, BOB, ONE, PRICE, SOL_MARKET, USDC

SOL = "SOL-PERP"


def test_average_entry_and_realized_pnl_through_a_flip():
    # Buy 2 at $100, buy 2 at $110: long 4 with $420 of entry.
    base, entry, realized = apply_fill(0, 0, 2 * ONE, 200 * USDC)
    base, entry, realized = apply_fill(base, entry, 2 * ONE, 220 * USDC)
    assert (base, entry, realized) == (4 * ONE, 420 * USDC, 0)
    # Sell 6 at $120: closes 4 (+$60) and opens a 2 short at $120.
    base, entry, realized = apply_fill(base, entry, -6 * ONE, 720 * USDC)
    assert (base, entry, realized) == (-2 * ONE, 240 * USDC, 60 * USDC)
    # Unrealized at $130: the short lost $20.
    assert unrealized_pnl(base, entry, 130 * PRICE) == -20 * USDC


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-50, 50).filter(bool), st.integers(1, 10_000)), min_size=1, max_size=20))
def test_closing_everything_realizes_exactly_the_cash_flow(trades):
    # Whatever the path (adds, partial closes, flips), once flat the total realized PnL equals
    # cash received minus cash paid: rounding moves PnL between fills, never leaks it.
    base = entry = realized_total = cash = 0
    closing_price = 5_000
    for lots, price in trades + [(None, closing_price)]:
        size = -base if lots is None else lots * 10_000_000
        if size == 0:
            continue
        notional = price * abs(size) // 1_000  # any integer notional
        base, entry, realized = apply_fill(base, entry, size, notional)
        realized_total += realized
        cash += notional if size < 0 else -notional
    assert (base, entry) == (0, 0)
    assert realized_total == cash


def test_a_price_crash_makes_a_long_liquidatable(exchange, commands):
    # Bob goes long 1,500 SOL at $100 with $10,000 (15x).
    exchange.place_order(*commands.next(), owner=ALICE, sub_account=0, market=SOL, side="sell", size=1_500 * ONE, price=100 * PRICE)
    exchange.place_order(*commands.next(), owner=BOB, sub_account=0, market=SOL, side="buy", size=1_500 * ONE, price=100 * PRICE)
    healthy = exchange.margin(BOB, 0)
    assert not healthy.liquidatable and healthy.margin_ratio_bps > 10_000
    # SOL falls to $96: equity ~$3,900 < maintenance 3% of $144,000 = $4,320.
    exchange.set_oracle_price(*commands.next(), symbol="SOL", price=96 * PRICE)
    crashed = exchange.margin(BOB, 0)
    assert crashed.liquidatable and crashed.margin_ratio_bps < 10_000
    # Bob can still reduce risk, but not add to it.
    with pytest.raises(Rejected) as rejected:
        exchange.place_order(*commands.next(), owner=BOB, sub_account=0, market=SOL, side="buy", size=ONE, price=96 * PRICE)
    assert rejected.value.reason is RejectReason.INSUFFICIENT_MARGIN
    exchange.place_order(*commands.next(), owner=BOB, sub_account=0, market=SOL, side="sell", size=100 * ONE, price=97 * PRICE)


def test_market_parameters_cap_leverage(exchange, commands):
    too_high = SOL_MARKET | {"symbol": "BTC-PERP", "base_asset": "BTC", "max_leverage": 101}
    with pytest.raises(Rejected) as rejected:
        exchange.create_market(*commands.next(), **too_high)
    assert rejected.value.reason is RejectReason.LEVERAGE_TOO_HIGH
    loose = SOL_MARKET | {"symbol": "BTC-PERP", "base_asset": "BTC", "max_leverage": 10, "initial_margin_bps": 500}
    with pytest.raises(Rejected) as rejected:
        exchange.create_market(*commands.next(), **loose)
    assert rejected.value.reason is RejectReason.LEVERAGE_TOO_HIGH
    with pytest.raises(Rejected) as rejected:
        exchange.change_market(*commands.next(), symbol=SOL, changes={"maintenance_margin_bps": 600})
    assert rejected.value.reason is RejectReason.INVALID_MARKET_PARAMS


def test_margin_tiers_raise_the_requirement_of_large_positions(exchange, commands):
    tiers = [
        {"up_to_base": 100 * ONE, "imr_bps": 500, "mmr_bps": 300},
        {"up_to_base": None, "imr_bps": 2_000, "mmr_bps": 1_000},
    ]
    exchange.change_market(*commands.next(), symbol=SOL, changes={"margin_tiers": tiers})
    # 100 SOL at $100 needs 5% ($500); 101 SOL needs 20% ($2,020).
    exchange.place_order(*commands.next(), owner=BOB, sub_account=0, market=SOL, side="buy", size=100 * ONE, price=90 * PRICE)
    assert exchange.margin(BOB, 0).initial_requirement == 500 * USDC
    exchange.place_order(*commands.next(), owner=BOB, sub_account=0, market=SOL, side="buy", size=ONE, price=90 * PRICE)
    assert exchange.margin(BOB, 0).initial_requirement == 2_020 * USDC


def test_cross_margin_counts_every_market_of_the_sub_account(exchange, commands):
    # A second market: BTC-PERP at $50,000.
    exchange.create_market(*commands.next(), **(SOL_MARKET | {"symbol": "BTC-PERP", "base_asset": "BTC", "tick_size": 100_000}))
    exchange.set_oracle_price(*commands.next(), symbol="BTC", price=50_000 * PRICE)
    # Bob uses most of his margin on SOL: 1,800 SOL long at $100 ($9,000 of $10,000 initial margin).
    exchange.place_order(*commands.next(), owner=ALICE, sub_account=0, market=SOL, side="sell", size=1_800 * ONE, price=100 * PRICE)
    exchange.place_order(*commands.next(), owner=BOB, sub_account=0, market=SOL, side="buy", size=1_800 * ONE, price=100 * PRICE)
    # A 1 BTC bid ($2,500 margin) does not fit any more...
    with pytest.raises(Rejected) as rejected:
        exchange.place_order(*commands.next(), owner=BOB, sub_account=0, market="BTC-PERP", side="buy", size=ONE, price=50_000 * PRICE)
    assert rejected.value.reason is RejectReason.INSUFFICIENT_MARGIN
    # ...until SOL's rise to $102 adds $3,600 of unrealized profit to his equity.
    exchange.set_oracle_price(*commands.next(), symbol="SOL", price=102 * PRICE)
    exchange.place_order(*commands.next(), owner=BOB, sub_account=0, market="BTC-PERP", side="buy", size=ONE, price=50_000 * PRICE)
    summary = exchange.margin(BOB, 0)
    assert summary.free_collateral >= 0 and summary.initial_requirement == 9_180 * USDC + 2_500 * USDC
