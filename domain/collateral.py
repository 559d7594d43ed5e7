"""Collateral assets: their native precision and their margin weights (haircuts).

Balances are kept in each asset's native units (USDC/USDT 6 decimals, SOL 9, BTC and ETH 8, as
their SPL mints). Value in quote (1e6) = amount * oracle price (1e6 per whole token) / 10^decimals,
rounded down, then weighted (rounded down). A negative balance (only USDC can go negative, through
realized losses and fees) is a liability counted at full weight and rounded up.

Without an oracle price an asset is worth 0, except USDC which is worth 1.000000 by definition
(it is the settlement asset); the exchange never values collateral it cannot price.
"""

from dataclasses import dataclass

from .ids import Asset
from .numbers import BPS, PRICE_SCALE, div_ceil


@dataclass(frozen=True, slots=True)
class CollateralSpec:
    """How one asset counts as collateral."""

    decimals: int
    initial_weight_bps: int
    maintenance_weight_bps: int


COLLATERAL = {
    Asset.USDC: CollateralSpec(decimals=6, initial_weight_bps=10_000, maintenance_weight_bps=10_000),
    Asset.USDT: CollateralSpec(decimals=6, initial_weight_bps=9_800, maintenance_weight_bps=9_900),
    Asset.SOL: CollateralSpec(decimals=9, initial_weight_bps=8_000, maintenance_weight_bps=9_000),
    Asset.BTC: CollateralSpec(decimals=8, initial_weight_bps=8_500, maintenance_weight_bps=9_200),
    Asset.ETH: CollateralSpec(decimals=8, initial_weight_bps=8_500, maintenance_weight_bps=9_200),
}


# The same table keyed by symbol string (balances are keyed by symbol; avoids enum lookups).
COLLATERAL_BY_SYMBOL = {asset.value: spec for asset, spec in COLLATERAL.items()}


def asset_price(asset: str, prices: dict[str, int]) -> int:
    """The oracle price (1e6) of an asset; USDC defaults to 1.000000, others to 0 (unpriced)."""
    price = prices.get(asset)
    if price is None:
        return PRICE_SCALE if asset == Asset.USDC else 0
    return price


def weighted_value(asset: str, amount: int, prices: dict[str, int], maintenance: bool) -> int:
    """Quote value (1e6) of a balance for margin: haircut and rounded down; debts at full weight,
    rounded up in size."""
    spec = COLLATERAL_BY_SYMBOL[asset]
    price = asset_price(asset, prices)
    scale = 10**spec.decimals
    if amount < 0:
        return -div_ceil(-amount * price, scale)
    weight = spec.maintenance_weight_bps if maintenance else spec.initial_weight_bps
    return (amount * price // scale) * weight // BPS


def collateral_value(balances: dict[str, int], prices: dict[str, int], maintenance: bool) -> int:
    """Sum of the weighted values of all balances of a sub-account."""
    return sum(weighted_value(a, amt, prices, maintenance) for a, amt in balances.items())
