"""Fixed-point integers and the rounding rules of the exchange.

Scales (as Drift): price and quote amounts 1e6, base sizes 1e9, funding rates 1e9, ratios in
basis points (1e4). A price is quote units (1e6) per one whole base unit (1e9 base units).
Every division states its rounding, always in the exchange's favour:
fees rounded up, PnL credited rounded down, margin requirements rounded up, collateral value
rounded down. No floats anywhere.
"""

PRICE_SCALE = 1_000_000
QUOTE_SCALE = 1_000_000
BASE_SCALE = 1_000_000_000
FUNDING_SCALE = 1_000_000_000
BPS = 10_000

# Upper bounds of any single input, so every figure (and sums of many) stays far inside a
# signed 64-bit integer for the engine's typed wire messages and the read models.
MAX_PRICE = 10**15  # $1,000,000,000 per unit
MAX_SIZE = 10**18  # 1,000,000,000 whole units
MAX_AMOUNT = 10**18  # 10^12 USDC, or 10^9 SOL


def div_floor(numerator: int, denominator: int) -> int:
    """Integer division rounded toward minus infinity."""
    return numerator // denominator


def div_ceil(numerator: int, denominator: int) -> int:
    """Integer division rounded toward plus infinity."""
    return -((-numerator) // denominator)


def mul_div_floor(a: int, b: int, denominator: int) -> int:
    """a * b / denominator rounded down (used for amounts credited to users)."""
    return (a * b) // denominator


def mul_div_ceil(a: int, b: int, denominator: int) -> int:
    """a * b / denominator rounded up (used for amounts users owe)."""
    return -((-(a * b)) // denominator)


def notional_floor(price: int, base_size: int) -> int:
    """Quote value (1e6) of a base size (1e9) at a price (1e6), rounded down.

    Used for a trade's notional (one figure both sides share) and for values credited.
    """
    return (price * base_size) // BASE_SCALE


def notional_ceil(price: int, base_size: int) -> int:
    """Quote value (1e6) of a base size at a price, rounded up (used for liabilities)."""
    return -((-(price * base_size)) // BASE_SCALE)


def fee_amount(notional: int, fee_bps: int) -> int:
    """The fee a side pays on a notional: rounded up when charged; a rebate (negative bps)
    is rounded down in magnitude, so the result is always in the exchange's favour."""
    return mul_div_ceil(notional, fee_bps, BPS)


def bps_of_ceil(amount: int, bps: int) -> int:
    """amount * bps / 1e4 rounded up (margin requirements)."""
    return mul_div_ceil(amount, bps, BPS)


def bps_of_floor(amount: int, bps: int) -> int:
    """amount * bps / 1e4 rounded down (weighted collateral value)."""
    return mul_div_floor(amount, bps, BPS)
