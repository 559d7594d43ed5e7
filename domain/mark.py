"""The mark price: the one price positions are valued at (margin, PnL, liquidations, funding,
triggers).

mark = median(oracle, best bid, best ask) when the book has both sides, else the oracle; then
bounded to oracle +/- 5% (so a thin or manipulated book cannot move the mark far from the
oracle). Without an oracle price (a market whose underlying was never priced) the mark is the
last trade. Rounding: the bound is computed rounded toward the oracle.
"""

from .numbers import BPS

MARK_BAND_BPS = 500


def mark_from(oracle_price: int | None, best_bid: int | None, best_ask: int | None, last_trade: int | None) -> int | None:
    """The mark price (1e6) from the oracle, the top of book and the last trade."""
    if oracle_price is None:
        return last_trade
    if best_bid is None or best_ask is None:
        return oracle_price
    candidate = sorted((oracle_price, best_bid, best_ask))[1]
    band = oracle_price * MARK_BAND_BPS // BPS
    return min(max(candidate, oracle_price - band), oracle_price + band)


def book_mid(best_bid: int | None, best_ask: int | None) -> int | None:
    """Mid of the top of book (rounded down), None if a side is empty."""
    if best_bid is None or best_ask is None:
        return None
    return (best_bid + best_ask) // 2
