"""Safe mark bands: the sub-accounts a liquidation sweep may skip without re-evaluating them.

A sub-account holding no collateral but USDC stays at or above maintenance while its market's
mark stays within a band around the mark at which it was last evaluated. The band's half-width
is the largest mark move whose worst-case effect on equity minus requirement, rounding
included, the slack measured then still covers (`safe_move`); with positions in several
markets, each market's band gets an equal share of the slack.

A band holds while nothing else it depends on changed: the account (its aggregate version moves
with every event, and events are the only way its state changes) and the market parameters
(maintenance ratios); and while the USDC price (when it has an oracle) stays within 0.5% of the
one the bands were first made at, part of each slack being set aside for that. Every other
sub-account with a position (other collateral, already under maintenance) is evaluated exactly
on every sweep.

Bands only decide what is skipped, never what is found: a skipped sub-account is provably not
liquidatable, so the sweep's result is the one a full evaluation gives. They are derived
state, outside the state hash, made again after a start-up (the engine does it while it
rebuilds the exchange: `Exchange.prepare_liquidation_sweep`); a 100k-account sweep after a 1%
move evaluates only the accounts the move brought near maintenance.
"""

from typing import Any

from .collateral import COLLATERAL_BY_SYMBOL
from .ids import SETTLEMENT_ASSET
from .margin import Exposure, MarginEnv
from .numbers import BASE_SCALE, BPS

USDC = SETTLEMENT_ASSET.value
USDC_SCALE = 10 ** COLLATERAL_BY_SYMBOL[USDC].decimals


def safe_move(slack: int, abs_base: int, mmr_bps: int) -> int:
    """The largest mark move over which equity - maintenance requirement of a one-position,
    USDC-only sub-account (`slack` >= 0 now, position `abs_base`, maintenance ratio `mmr_bps`)
    certainly stays >= 0.

    A move d shifts the rounded PnL and the rounded notional by at most ceil(d * abs_base / 1e9)
    each, and the rounded requirement by at most ceil(that * mmr / 1e4). With
    steps = ceil(d * abs_base / 1e9) + 1 (one spare unit), the shift is at most
    steps + ceil(steps * mmr / 1e4) + 1 <= steps * (1e4 + mmr) / 1e4 + 2: `slack` pays for
    (slack - 2) * 1e4 // (1e4 + mmr) steps (maybe one less than it could: a narrower band).
    """
    steps = (slack - 2) * BPS // (BPS + mmr_bps)
    return (steps - 1) * BASE_SCALE // abs_base if steps > 1 else 0


class _Marker:
    """A value in a band's market place that no market symbol can equal."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NO_POSITION = _Marker("NO_POSITION")  # an account without positions: nothing to evaluate
NO_POSITION_BAND = (NO_POSITION, 0, 0)
NO_BAND = (None, 0, 0)  # evaluate it on every sweep
SEVERAL = _Marker("SEVERAL")  # positions in several markets: one band per market


class MarkBands:
    """`by_owner`: owner -> `(account, version, market, low, high)`: the account object and
    version the band was made at, and the band of its one sub-account with a position. Market
    `SEVERAL`: `low` holds one band per market; None (`NO_BAND`): evaluate the account on every
    sweep (several sub-accounts with positions, or one that is not eligible); `NO_POSITION`:
    nothing to evaluate. Valid only while `known[0] is account and known[1] == account.version`.
    The sweep reads and writes it inline (domain.margin_scan): one tuple per account,
    the fewest objects for the collector to walk."""

    def __init__(self) -> None:
        self.by_owner: dict[str, tuple] = {}
        self._params: dict[str, Any] | None = None  # none yet: the first sweep sets the basis
        self._usdc_basis = self._usdc_tolerance = 0

    def keep_if_still(self, params: dict[str, Any], usdc_price: int) -> None:
        """Drop every band unless the market parameters are the ones they were made with
        (compared by identity: they are replaced, never mutated) and the USDC price is within
        the tolerance of its basis."""
        same = self._params is not None and abs(usdc_price - self._usdc_basis) <= self._usdc_tolerance \
            and params.keys() == self._params.keys() \
            and all(params[symbol] is known for symbol, known in self._params.items())
        if not same:
            self.by_owner.clear()
            self._params, self._usdc_basis, self._usdc_tolerance = dict(params), usdc_price, usdc_price // 200

    def band(self, balances: dict[str, int], exposures: dict[str, Exposure], env: MarginEnv, slack: int) -> tuple:
        """`(market, low, high)` for a sub-account `slack` above maintenance now, holding one
        position and no collateral but USDC; `(SEVERAL, ((market, low, high), ...), 0)` for one
        holding positions in several markets: each market gets an equal share of the slack,
        and the account is safe while every mark is inside its own band (the shifts of equity
        minus requirement add up market by market). `NO_BAND` for any other, or one under
        maintenance.

        The USDC price may be anywhere within 2 tolerances of the one `slack` was measured at:
        the USDC balance's value moves by at most ceil(|usdc| * 2 tolerances / 1e6) + 1, set
        aside first."""
        usdc = balances.get(USDC)
        if len(balances) > 1 or (balances and usdc is None):
            return NO_BAND
        covered = slack - (-(-abs(usdc or 0) * 2 * self._usdc_tolerance // USDC_SCALE) + 1)
        if covered < 0:
            return NO_BAND
        share = covered // len(exposures)
        bands = []
        for market, exposure in exposures.items():
            size = abs(exposure.base)
            params = env.params[market]
            mmr = params.ratios_for(size)[1] if params.margin_tiers else params.maintenance_margin_bps
            move = safe_move(share, size, mmr)
            mark = env.marks[market]
            bands.append((market, mark - move, mark + move))
        return bands[0] if len(bands) == 1 else (SEVERAL, tuple(bands), 0)
