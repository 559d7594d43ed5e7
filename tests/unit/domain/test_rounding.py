"""Rounding is always in the exchange's favour: against exact rational arithmetic, fees are
never below, rebates never above, PnL never above, requirements never below, collateral value
never above the exact figure (each within one unit)."""

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.collateral import weighted_value
from domain.numbers import BASE_SCALE, BPS, bps_of_ceil, fee_amount, notional_ceil
from domain.position import unrealized_pnl

prices = st.integers(1, 10**12)
sizes = st.integers(-(10**15), 10**15)
amounts = st.integers(0, 10**15)
bps = st.integers(-1_000, 1_000)


@settings(max_examples=300, deadline=None)
@given(amounts, bps)
def test_fees_round_up_and_rebates_round_down(notional, fee_bps):
    exact = Fraction(notional * fee_bps, BPS)
    charged = fee_amount(notional, fee_bps)
    assert exact <= charged < exact + 1  # a rebate (negative) is therefore never larger than exact


@settings(max_examples=300, deadline=None)
@given(sizes, amounts, prices)
def test_unrealized_pnl_is_never_overstated(base, entry, mark):
    exact = (Fraction(mark * base, BASE_SCALE) - entry) if base > 0 else (entry - Fraction(mark * -base, BASE_SCALE))
    if base == 0:
        exact = Fraction(0)
    pnl = unrealized_pnl(base, entry, mark)
    assert exact - 1 < pnl <= exact


@settings(max_examples=300, deadline=None)
@given(amounts, prices, st.integers(1, BPS))
def test_margin_requirements_are_never_understated(size, mark, ratio_bps):
    exact = Fraction(mark * size, BASE_SCALE) * Fraction(ratio_bps, BPS)
    assert bps_of_ceil(notional_ceil(mark, size), ratio_bps) >= exact


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["USDC", "USDT", "SOL", "BTC", "ETH"]), st.integers(-(10**15), 10**15), prices, st.booleans())
def test_collateral_is_never_overvalued(asset, amount, price, maintenance):
    decimals = {"USDC": 6, "USDT": 6, "SOL": 9, "BTC": 8, "ETH": 8}[asset]
    weights = {"USDC": (10_000, 10_000), "USDT": (9_800, 9_900), "SOL": (8_000, 9_000), "BTC": (8_500, 9_200), "ETH": (8_500, 9_200)}[asset]
    value = Fraction(amount * price, 10**decimals)
    exact = value if amount < 0 else value * Fraction(weights[maintenance], BPS)
    assert weighted_value(asset, amount, {asset: price}, maintenance) <= exact
