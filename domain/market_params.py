"""A perpetual market's parameters and their validation.

Invariants (checked by `check_market_params`): tick, lot and minimum size positive, minimum size
a multiple of the lot; 1 <= max leverage <= 100; maintenance < initial margin, and the initial
margin ratio never below 1 / max leverage (so leverage can never exceed the market's limit);
|maker rebate| <= taker fee, so the fee pool never pays out more than it takes on a trade.
Margin tiers (optional) raise the ratios for large positions: each tier applies to a position
whose absolute base size is <= `up_to_base` (the last tier has None = unbounded).
"""

from dataclasses import dataclass, field, fields, replace
from enum import StrEnum

from .numbers import BPS, MAX_PRICE, MAX_SIZE, div_ceil
from .rejections import RejectReason, Rejected

MAX_LEVERAGE = 100
MAX_FEE_BPS = 1_000


class MarketStatus(StrEnum):
    ACTIVE = "active"
    REDUCE_ONLY = "reduce_only"  # only orders that reduce positions
    PAUSED = "paused"  # no new orders; cancels still allowed


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketParams:
    """Everything an admin sets on a market (prices 1e6, sizes 1e9, ratios and fees in bps)."""

    base_asset: str  # the oracle symbol of the underlying, e.g. "SOL"
    tick_size: int
    lot_size: int
    min_size: int
    max_leverage: int
    initial_margin_bps: int
    maintenance_margin_bps: int
    maker_fee_bps: int
    taker_fee_bps: int
    margin_tiers: list = field(default_factory=list)  # [{"up_to_base", "imr_bps", "mmr_bps"}]

    def to_payload(self) -> dict:
        """Plain dict (event payload and state hash)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_payload(cls, payload: dict) -> "MarketParams":
        """Inverse of to_payload."""
        return cls(**payload)

    def changed(self, changes: dict) -> "MarketParams":
        """A copy with some parameters replaced (unknown names are refused)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise Rejected(RejectReason.INVALID_MARKET_PARAMS, f"unknown parameters {sorted(unknown)}")
        return replace(self, **changes)

    def ratios_for(self, abs_base: int) -> tuple[int, int]:
        """(initial, maintenance) margin ratios in bps for a position of this absolute size;
        the initial ratio is never below 1 / max leverage (rounded up)."""
        imr, mmr = self.initial_margin_bps, self.maintenance_margin_bps
        for tier in self.margin_tiers:
            if tier["up_to_base"] is None or abs_base <= tier["up_to_base"]:
                imr, mmr = max(imr, tier["imr_bps"]), max(mmr, tier["mmr_bps"])
                break
        return max(imr, div_ceil(BPS, self.max_leverage)), mmr


def check_market_params(params: MarketParams) -> None:
    """Raise Rejected unless the parameters are coherent."""
    ints = [getattr(params, f.name) for f in fields(params) if f.name not in ("base_asset", "margin_tiers")]
    if any(type(v) is not int for v in ints) or not isinstance(params.base_asset, str) or not params.base_asset:
        raise Rejected(RejectReason.INVALID_MARKET_PARAMS, "parameters must be integers and a base asset")
    if not 0 < params.tick_size <= MAX_PRICE or not 0 < params.lot_size <= params.min_size <= MAX_SIZE:
        raise Rejected(RejectReason.INVALID_MARKET_PARAMS, "tick, lot and min size must be positive (lot <= min)")
    if params.min_size % params.lot_size:
        raise Rejected(RejectReason.INVALID_MARKET_PARAMS, "min size must be a multiple of the lot size")
    if not 1 <= params.max_leverage <= MAX_LEVERAGE:
        raise Rejected(RejectReason.LEVERAGE_TOO_HIGH, f"max leverage must be 1..{MAX_LEVERAGE}")
    if params.initial_margin_bps < div_ceil(BPS, params.max_leverage):
        raise Rejected(RejectReason.LEVERAGE_TOO_HIGH, "initial margin below 1 / max leverage")
    if not 0 < params.maintenance_margin_bps < params.initial_margin_bps <= BPS:
        raise Rejected(RejectReason.INVALID_MARKET_PARAMS, "need 0 < maintenance < initial <= 100%")
    if not 0 <= params.taker_fee_bps <= MAX_FEE_BPS or not -params.taker_fee_bps <= params.maker_fee_bps <= MAX_FEE_BPS:
        raise Rejected(RejectReason.INVALID_MARKET_PARAMS, "fees out of range (|maker rebate| <= taker fee)")
    _check_tiers(params.margin_tiers)


def _check_tiers(tiers: list) -> None:
    if not isinstance(tiers, list):
        raise Rejected(RejectReason.INVALID_MARKET_PARAMS, "margin tiers must be a list")
    previous = 0
    for i, tier in enumerate(tiers):
        if not isinstance(tier, dict) or set(tier) != {"up_to_base", "imr_bps", "mmr_bps"}:
            raise Rejected(RejectReason.INVALID_MARKET_PARAMS, "tier needs up_to_base, imr_bps, mmr_bps")
        bound, imr, mmr = tier["up_to_base"], tier["imr_bps"], tier["mmr_bps"]
        last = i == len(tiers) - 1
        if (bound is None) != last or (bound is not None and (type(bound) is not int or not previous < bound <= MAX_SIZE)):
            raise Rejected(RejectReason.INVALID_MARKET_PARAMS, "tier bounds must increase, the last unbounded")
        if type(imr) is not int or type(mmr) is not int or not 0 < mmr < imr <= BPS:
            raise Rejected(RejectReason.INVALID_MARKET_PARAMS, "tier ratios need 0 < mmr < imr <= 100%")
        previous = bound or previous
