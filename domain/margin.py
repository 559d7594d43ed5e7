"""Cross-margin arithmetic of one sub-account: the functions the order checks and the risk
engine call.

Inputs are plain values: collateral balances, an `Exposure` per market (position and open
orders), and a `MarginEnv` (market parameters, mark prices, collateral prices). Rounding is in
the exchange's favour: requirements rounded up, collateral and gains rounded down.

- equity = weighted collateral value + unrealized PnL at mark (initial or maintenance weights)
- initial requirement: per market, the worst case of the open orders filling,
  max(|base + open bids|, |base - open asks|) * mark * initial ratio
- maintenance requirement: per market, |base| * mark * maintenance ratio (orders excluded)
- free collateral = initial equity - initial requirement (what withdrawals and new risk may use)
- margin ratio = maintenance equity / maintenance requirement (bps); liquidatable when below 1.
"""

from dataclasses import dataclass

from .collateral import collateral_value
from .market_params import MarketParams
from .numbers import BPS, bps_of_ceil, notional_ceil
from .position import unrealized_pnl


@dataclass(frozen=True, slots=True)
class Exposure:
    """A sub-account's stake in one market: its position and its resting orders."""

    base: int = 0
    entry_notional: int = 0
    open_bids: int = 0
    open_asks: int = 0

    def worst_case_base(self) -> int:
        """The largest absolute position the open orders could leave."""
        return max(abs(self.base + self.open_bids), abs(self.base - self.open_asks))


@dataclass(frozen=True, slots=True)
class MarginEnv:
    """What margin depends on besides the account: parameters and prices (1e6)."""

    params: dict[str, MarketParams]
    marks: dict[str, int]
    prices: dict[str, int]


@dataclass(frozen=True, slots=True)
class MarginSummary:
    """All margin figures of a sub-account (quote 1e6; ratio in bps, None without positions)."""

    initial_equity: int
    maintenance_equity: int
    initial_requirement: int
    maintenance_requirement: int
    free_collateral: int
    margin_ratio_bps: int | None
    liquidatable: bool


def equity(balances: dict[str, int], exposures: dict[str, Exposure], env: MarginEnv, maintenance: bool) -> int:
    """Weighted collateral plus unrealized PnL of every position at its mark."""
    pnl = sum(unrealized_pnl(e.base, e.entry_notional, env.marks.get(m, 0)) for m, e in exposures.items() if e.base)
    return collateral_value(balances, env.prices, maintenance) + pnl


def initial_requirement(exposures: dict[str, Exposure], env: MarginEnv) -> int:
    """Initial margin for positions plus the worst case of open orders, rounded up."""
    total = 0
    for market, exposure in exposures.items():
        worst = exposure.worst_case_base()
        if worst:
            imr, _ = env.params[market].ratios_for(worst)
            total += bps_of_ceil(notional_ceil(env.marks.get(market, 0), worst), imr)
    return total


def maintenance_requirement(exposures: dict[str, Exposure], env: MarginEnv) -> int:
    """Maintenance margin of the open positions, rounded up."""
    total = 0
    for market, exposure in exposures.items():
        if exposure.base:
            size = abs(exposure.base)
            _, mmr = env.params[market].ratios_for(size)
            total += bps_of_ceil(notional_ceil(env.marks.get(market, 0), size), mmr)
    return total


def free_collateral(balances: dict[str, int], exposures: dict[str, Exposure], env: MarginEnv) -> int:
    """Initial equity minus initial requirement (negative when under-margined)."""
    return equity(balances, exposures, env, maintenance=False) - initial_requirement(exposures, env)


def margin_ratio(balances: dict[str, int], exposures: dict[str, Exposure], env: MarginEnv) -> int | None:
    """Maintenance equity / maintenance requirement in bps (rounded down); None if no positions."""
    requirement = maintenance_requirement(exposures, env)
    if requirement == 0:
        return None
    return equity(balances, exposures, env, maintenance=True) * BPS // requirement


def is_liquidatable(balances: dict[str, int], exposures: dict[str, Exposure], env: MarginEnv) -> bool:
    """True when maintenance equity is below the maintenance requirement."""
    requirement = maintenance_requirement(exposures, env)
    return requirement > 0 and equity(balances, exposures, env, maintenance=True) < requirement


def summarize(balances: dict[str, int], exposures: dict[str, Exposure], env: MarginEnv) -> MarginSummary:
    """Every margin figure at once."""
    initial_eq = equity(balances, exposures, env, maintenance=False)
    maint_eq = equity(balances, exposures, env, maintenance=True)
    initial_req = initial_requirement(exposures, env)
    maint_req = maintenance_requirement(exposures, env)
    return MarginSummary(
        initial_equity=initial_eq,
        maintenance_equity=maint_eq,
        initial_requirement=initial_req,
        maintenance_requirement=maint_req,
        free_collateral=initial_eq - initial_req,
        margin_ratio_bps=None if maint_req == 0 else maint_eq * BPS // maint_req,
        liquidatable=maint_req > 0 and maint_eq < maint_req,
    )
