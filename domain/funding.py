"""Hourly funding: the rate from the mark TWAP against the oracle TWAP, and each position's
payment (pure).

premium = (mark TWAP - oracle TWAP) / oracle TWAP; rate per hour = premium / 24, clamped per
market to +/- (maintenance margin ratio / 8) per hour (e.g. 5% MMR -> 0.625%/h), both at 1e9.
A positive rate: longs pay shorts. Periods are whole hours since the epoch; a settlement covers
every period since the last one settled (a missed period is settled once, in the next
settlement, at that settlement's rate; never twice).

Payment of a position = -base * oracle TWAP * rate (quote 1e6), rounded DOWN: a payer pays up to
one unit more, a receiver receives up to one unit less. Because longs and shorts always sum to
zero base, the payments sum to zero apart from that rounding, which goes to the insurance fund
(between 0 and one quote unit per position).
"""

from .numbers import BASE_SCALE, BPS, FUNDING_SCALE

FUNDING_PERIOD = 3600 * 1_000_000_000
PREMIUM_DIVISOR = 24
CLAMP_FRACTION_OF_MAINTENANCE = 8


def clamp_rate(maintenance_margin_bps: int) -> int:
    """The largest funding rate per period of a market (1e9)."""
    return maintenance_margin_bps * FUNDING_SCALE // BPS // CLAMP_FRACTION_OF_MAINTENANCE


def premium_rate(mark_twap: int, oracle_twap: int) -> int:
    """(mark - oracle) / oracle at 1e9, rounded toward zero."""
    difference = (mark_twap - oracle_twap) * FUNDING_SCALE
    magnitude = abs(difference) // oracle_twap
    return magnitude if difference >= 0 else -magnitude


def funding_rate(mark_twap: int, oracle_twap: int, maintenance_margin_bps: int) -> tuple[int, int, int]:
    """(rate per period, premium, clamp) at 1e9."""
    premium = premium_rate(mark_twap, oracle_twap)
    per_period = premium // PREMIUM_DIVISOR if premium >= 0 else -((-premium) // PREMIUM_DIVISOR)
    clamp = clamp_rate(maintenance_margin_bps)
    return max(-clamp, min(clamp, per_period)), premium, clamp


def payment(base: int, oracle_twap: int, rate: int) -> int:
    """What a position receives (negative: pays) for a total rate, quote 1e6, rounded down."""
    return (-base * oracle_twap * rate) // (BASE_SCALE * FUNDING_SCALE)
