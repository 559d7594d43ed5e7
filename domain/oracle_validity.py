"""Oracle price validity: the rules that decide whether a price may be used, and for what.

Pyth-shaped input: an integer price and confidence with a decimal `exponent` (value = price *
10^exponent) and the publisher's time (ns). We keep prices at 1e6; the price is converted
rounded down, the confidence rounded up (the uncertain side is never understated).

States (string values are stable, they appear in events):
- `Valid`               usable for everything.
- `StaleForTrading`     older than 10 s: no new risk-increasing orders; margin and liquidations
                         still use it.
- `StaleForMargin`      older than 60 s: additionally no liquidation, no funding settlement.
- `ConfidenceTooWide`   the last update's confidence exceeded 2% of its price (update refused).
- `TooVolatile`         the last update moved 5x (or 1/5) from the accepted price (refused).
- `OutOfOrder`          the last update was published before the accepted price (refused).
- `DivergingFromMark`   the accepted price is further than 20% from the market's mark TWAP: it is
                         used (a crash must reach margin, stops and liquidations), but no funding
                         is settled on it (the premium would be meaningless).
A refused update keeps the previous accepted price, and the oracle stays flagged with the refusal
until an update is accepted. Flagged states forbid what `StaleForMargin` forbids.

Circuit breaker: a market whose underlying is not usable for margin (stale for margin or flagged)
for longer than 30 s is paused; it resumes (to its previous status) as soon as the underlying is
`Valid` (or merely diverging) again.
"""

from .numbers import BPS, PRICE_SCALE

VALID = "Valid"
STALE_FOR_TRADING = "StaleForTrading"
STALE_FOR_MARGIN = "StaleForMargin"
CONFIDENCE_TOO_WIDE = "ConfidenceTooWide"
TOO_VOLATILE = "TooVolatile"
DIVERGING_FROM_MARK = "DivergingFromMark"
OUT_OF_ORDER = "OutOfOrder"

SECOND = 1_000_000_000
TRADING_STALENESS = 10 * SECOND
MARGIN_STALENESS = 60 * SECOND
MAX_CONFIDENCE_BPS = 200  # 2% of the price
MAX_MOVE_FACTOR = 5  # one update may not move the price 5x up or down
MAX_MARK_DIVERGENCE_BPS = 2_000  # 20% from the mark TWAP
BREAKER_AFTER = 30 * SECOND
TWAP_WINDOW = 3600 * SECOND  # TWAPs are exponentially weighted over one hour

# What each state allows.
TRADING_OK = frozenset({VALID, DIVERGING_FROM_MARK})
MARGIN_OK = frozenset({VALID, DIVERGING_FROM_MARK, STALE_FOR_TRADING})
FUNDING_OK = frozenset({VALID, STALE_FOR_TRADING})


def to_price_scale(value: int, exponent: int, round_up: bool) -> int:
    """A Pyth (value, exponent) at our 1e6 scale, rounded down (or up)."""
    shift = exponent + 6
    if shift >= 0:
        return value * 10**shift
    divisor = 10 ** (-shift)
    return -((-value) // divisor) if round_up else value // divisor


def refusal_of(
    price: int, confidence: int, publish_time: int, previous_price: int | None, previous_publish: int | None,
) -> str | None:
    """Why an update must be refused (a state name), or None when it may be accepted."""
    if previous_publish is not None and publish_time < previous_publish:
        return OUT_OF_ORDER
    if confidence * BPS > price * MAX_CONFIDENCE_BPS:
        return CONFIDENCE_TOO_WIDE
    if previous_price is not None and (
        price >= previous_price * MAX_MOVE_FACTOR or price * MAX_MOVE_FACTOR <= previous_price
    ):
        return TOO_VOLATILE
    return None


def diverges(price: int, mark_twap: int | None) -> bool:
    """Is an accepted price further than the bound from the mark TWAP?"""
    return bool(mark_twap) and abs(price - mark_twap) * BPS > mark_twap * MAX_MARK_DIVERGENCE_BPS


def validity_at(at: int, publish_time: int, refusal: str | None, diverging: bool = False) -> str:
    """The state of an oracle at command time `at`."""
    if refusal is not None:
        return refusal
    age = at - publish_time
    if age > MARGIN_STALENESS:
        return STALE_FOR_MARGIN
    if age > TRADING_STALENESS:
        return STALE_FOR_TRADING
    return DIVERGING_FROM_MARK if diverging else VALID


def invalid_since(publish_time: int, refused_at: int | None) -> int:
    """When the oracle stopped being usable for margin (for the circuit breaker)."""
    if refused_at is not None:
        return min(refused_at, publish_time + MARGIN_STALENESS)
    return publish_time + MARGIN_STALENESS


def next_twap(twap: int | None, twap_at: int | None, price: int, at: int) -> int:
    """Time-weighted average over `TWAP_WINDOW`: the new price weighs the time since the last
    sample (at most the window); rounded down."""
    if twap is None or twap_at is None:
        return price
    elapsed = min(max(at - twap_at, 0), TWAP_WINDOW)
    return (twap * (TWAP_WINDOW - elapsed) + price * elapsed) // TWAP_WINDOW


assert PRICE_SCALE == 10**6  # to_price_scale assumes our 1e6 price scale
