"""Liquidation arithmetic (pure): how much of a position to take over, the penalty and its split,
and the auto-deleveraging ranking.

Rules (see docs/architecture/risk.md):
- An account is liquidatable when maintenance equity < maintenance requirement at the mark, and
  the underlying's oracle is usable for margin (`oracle_validity.MARGIN_OK`).
- Partial first: per market (largest maintenance requirement first), the liquidator takes over
  the smallest lot-rounded size that brings maintenance equity back to requirement x (1 + 2%)
  after the penalty, assuming the worst gap between mark and take-over price; all of it if that
  is not enough. The take-over price is the oracle price (bounded by the oracle by definition).
- Penalty = 1% of the notional taken over (rounded up), capped at the equity left; half to the
  liquidator (rounded down), the rest to the insurance fund.
- A bankrupt account (no positions left, collateral value < 0): the insurance fund covers the
  deficit; what it cannot is taken from the most profitable, most leveraged opposite positions,
  each at most its unrealized profit (ADL); what is left stays recorded as unresolved.
  An account without a position never pays.
"""

from dataclasses import dataclass

from .numbers import BASE_SCALE, BPS, div_ceil, fee_amount

LIQUIDATION_FEE_BPS = 100
LIQUIDATOR_SHARE_BPS = 5_000  # of the penalty
HEALTH_BUFFER_BPS = 200
MAX_LIQUIDATIONS_PER_SWEEP = 200


def takeover_size(
    base: int, mark: int, price: int, maintenance_bps: int, lot_size: int, equity: int, requirement: int
) -> int:
    """Base size (1e9, positive) to take over from a position so that the account is back above
    maintenance + buffer; the whole position when partial cannot get there."""
    size = abs(base)
    per_unit = (
        mark * maintenance_bps * (BPS + HEALTH_BUFFER_BPS) // (BPS * BPS)
        - abs(price - mark)
        - div_ceil(price * LIQUIDATION_FEE_BPS, BPS)
    )
    shortfall = div_ceil(requirement * (BPS + HEALTH_BUFFER_BPS), BPS) - equity
    if shortfall <= 0:
        return 0
    if per_unit <= 0:
        return size
    needed = div_ceil(shortfall * BASE_SCALE, per_unit)
    needed = div_ceil(needed, lot_size) * lot_size
    return min(size, needed)


@dataclass(frozen=True, slots=True)
class Penalty:
    """The liquidation penalty and its split (quote 1e6)."""

    total: int
    liquidator: int
    insurance: int


def penalty_for(notional: int, equity_left: int) -> Penalty:
    """1% of the notional, capped at the (non-negative) equity left, split half and half."""
    total = max(0, min(fee_amount(notional, LIQUIDATION_FEE_BPS), equity_left))
    liquidator = total * LIQUIDATOR_SHARE_BPS // BPS
    return Penalty(total, liquidator, total - liquidator)


@dataclass(frozen=True, slots=True)
class AdlCandidate:
    """An opposite position that may be deleveraged."""

    key: str  # "owner/sub_account"
    market: str
    base: int
    unrealized_pnl: int
    equity: int
    notional: int

    def score(self) -> int:
        """Profit ratio x leverage (both bps): most profitable, most leveraged first."""
        profit_bps = self.unrealized_pnl * BPS // max(self.notional, 1)
        leverage_bps = self.notional * BPS // max(self.equity, 1)
        return profit_bps * leverage_bps


def adl_plan(deficit: int, candidates: list[AdlCandidate]) -> list[tuple[AdlCandidate, int]]:
    """Who pays how much of `deficit`: by score (then key, for determinism), each at most its
    unrealized profit."""
    plan = []
    remaining = deficit
    for candidate in sorted(candidates, key=lambda c: (-c.score(), c.key, c.market)):
        if remaining <= 0:
            break
        if candidate.unrealized_pnl <= 0:
            continue
        amount = min(candidate.unrealized_pnl, remaining)
        plan.append((candidate, amount))
        remaining -= amount
    return plan
