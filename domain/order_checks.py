"""Guards of the order use cases: shape, market rules, reduce-only capping, initial margin.

Each `check_*` raises `Rejected` with a reason code and changes nothing.

Margin check (conservative, decided before the book is touched): an order that raises the
sub-account's initial requirement (worst case of its open orders, see `margin`) is accepted only
if initial equity, reduced by the worst outcome of this order filling entirely at its limit price
(the adverse gap to mark, the higher of the maker/taker fee, one quote unit per lot for per-fill
rounding), still covers the new requirement. The real outcome can only be better: fills happen at
the limit or better, and what rests is already counted as an open order. An order that does not
raise the requirement (it reduces risk) is always allowed, so a trader can always de-risk.
"""

from .book import OrderType, PostOnly, SelfTradePrevention, TimeInForce
from .ids import MAX_CLIENT_ORDER_ID_LENGTH
from .margin import Exposure, MarginEnv, equity, initial_requirement
from .market_params import MarketParams, MarketStatus
from .numbers import MAX_PRICE, MAX_SIZE, fee_amount, notional_ceil, notional_floor
from .rejections import RejectReason, Rejected

BOOK_ORDER_TYPES = {"limit", "market"}
TRIGGER_ORDER_TYPES = {
    "stop_market", "stop_limit", "take_profit_market", "take_profit_limit", "trailing_stop",
}
SIDES = {"buy", "sell"}
# Live orders one sub-account may have in one market (resting; and waiting triggers), so no
# account can grow a book or the margin scans without bound.
MAX_OPEN_ORDERS_PER_MARKET = 500
MAX_TRIGGER_ORDERS_PER_MARKET = 100
ORDER_TYPES = BOOK_ORDER_TYPES | TRIGGER_ORDER_TYPES
TIMES_IN_FORCE = {t.value for t in TimeInForce}
POST_ONLY_MODES = {p.value for p in PostOnly}
SELF_TRADE_MODES = {s.value for s in SelfTradePrevention}


def is_int(value: object) -> bool:
    """A real int (bool excluded)."""
    return type(value) is int


def check_order_shape(
    *, side: str, order_type: str, time_in_force: str, post_only: str, self_trade: str,
    client_order_id: str | None, expires_at: int | None, at: int, reduce_only: bool,
) -> None:
    """Enumerations, client order id and expiry are well formed."""
    if not _member(side, SIDES) or not _member(order_type, ORDER_TYPES):
        raise Rejected(RejectReason.INVALID_ORDER, "unknown side or order type")
    if not _member(time_in_force, TIMES_IN_FORCE) or not _member(post_only, POST_ONLY_MODES):
        raise Rejected(RejectReason.INVALID_ORDER, "unknown time in force or post-only mode")
    if not _member(self_trade, SELF_TRADE_MODES) or type(reduce_only) is not bool:
        raise Rejected(RejectReason.INVALID_ORDER, "unknown self-trade mode or bad reduce-only flag")
    if client_order_id is not None and (
        not isinstance(client_order_id, str) or not 0 < len(client_order_id) <= MAX_CLIENT_ORDER_ID_LENGTH
    ):
        raise Rejected(RejectReason.INVALID_ORDER, "client order id must be 1..64 characters")
    if time_in_force == TimeInForce.GTT:
        if expires_at is None:
            raise Rejected(RejectReason.MISSING_EXPIRY, "GTT needs expires_at")
        if not is_int(expires_at) or expires_at <= at:
            raise Rejected(RejectReason.ALREADY_EXPIRED, "expires_at must be after the command time")
    if order_type == OrderType.MARKET and post_only != PostOnly.OFF:
        raise Rejected(RejectReason.INVALID_ORDER, "a market order cannot be post-only")


def _member(value: object, allowed: set) -> bool:
    """`value in allowed` that refuses unhashable hostile input instead of raising TypeError."""
    return isinstance(value, str) and value in allowed


def check_status(status: MarketStatus, reduce_only: bool) -> None:
    """Paused markets take no orders; reduce-only markets only reduce-only orders."""
    if status is MarketStatus.PAUSED:
        raise Rejected(RejectReason.MARKET_PAUSED, "market is paused")
    if status is MarketStatus.REDUCE_ONLY and not reduce_only:
        raise Rejected(RejectReason.MARKET_REDUCE_ONLY, "market accepts reduce-only orders only")


def check_price(params: MarketParams, price: object, name: str = "price") -> None:
    """A positive int on the tick grid."""
    if not is_int(price) or not 0 < price <= MAX_PRICE or price % params.tick_size:
        raise Rejected(RejectReason.INVALID_PRICE, f"{name} must be a positive multiple of tick {params.tick_size}")


def check_size(params: MarketParams, size: object) -> None:
    """A positive int on the lot grid, at least the minimum size."""
    if not is_int(size) or not 0 < size <= MAX_SIZE or size % params.lot_size or size < params.min_size:
        raise Rejected(
            RejectReason.INVALID_SIZE,
            f"size must be a multiple of lot {params.lot_size} and >= {params.min_size}",
        )


def cap_reduce_only(params: MarketParams, side: str, size: int, position_base: int, reserved: int) -> int:
    """The size a reduce-only order may have: at most the position left after the other resting
    reduce-only orders on the same side (`reserved`), rounded down to the lot."""
    increases = position_base == 0 or (side == "buy") == (position_base > 0)
    if increases:
        raise Rejected(RejectReason.REDUCE_ONLY_WOULD_INCREASE, "no position this order would reduce")
    available = abs(position_base) - reserved
    capped = min(size, available) // params.lot_size * params.lot_size
    if capped <= 0:
        raise Rejected(RejectReason.REDUCE_ONLY_WOULD_INCREASE, "position already covered by reduce-only orders")
    return capped


def with_order(exposures: dict[str, Exposure], market: str, side: str, size: int) -> dict[str, Exposure]:
    """The exposures with one more open order."""
    current = exposures.get(market) or Exposure()
    bids, asks = (size, 0) if side == "buy" else (0, size)
    changed = Exposure(current.base, current.entry_notional, current.open_bids + bids, current.open_asks + asks)
    return {**exposures, market: changed}


def check_initial_margin(
    *, balances: dict[str, int], before: dict[str, Exposure], after: dict[str, Exposure], env: MarginEnv,
    market: str, side: str, price: int, size: int,
) -> None:
    """Refuse a risk-raising order the account could not margin in its worst outcome."""
    required_after = initial_requirement(after, env)
    if required_after <= initial_requirement(before, env):
        return
    params = env.params[market]
    mark = env.marks[market]
    if side == "buy":
        adverse = max(0, notional_ceil(price, size) - notional_floor(mark, size))
    else:
        adverse = max(0, notional_ceil(mark, size) - notional_floor(price, size))
    worst_fee = max(0, fee_amount(notional_ceil(price, size), max(params.taker_fee_bps, params.maker_fee_bps)))
    rounding = 2 * (size // params.lot_size)
    available = equity(balances, before, env, maintenance=False) - adverse - worst_fee - rounding
    if available < required_after:
        raise Rejected(
            RejectReason.INSUFFICIENT_MARGIN,
            f"initial margin {required_after} exceeds worst-case equity {available}",
        )
