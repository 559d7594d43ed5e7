"""The liquidation sweep's scan: which sub-accounts are under maintenance now.

`liquidatable(at)` evaluates every sub-account with a position, but skips those whose mark is
still inside their safe band (domain.mark_bands); `prepare_liquidation_sweep()` makes every band
ahead of the first sweep (the engine calls it at start-up).
"""

from .collateral import asset_price
from .ids import SETTLEMENT_ASSET, book_account_key
from .mark_bands import NO_BAND, NO_POSITION, NO_POSITION_BAND, SEVERAL
from .margin import Exposure, MarginEnv, equity, maintenance_requirement
from .numbers import BPS

_USDC = SETTLEMENT_ASSET.value


class MarginScan:
    """Mixin of `Exchange`."""

    def liquidatable(self, at: int) -> list[tuple[int, str]]:
        """(margin ratio bps, "owner/sub") of every sub-account that may be liquidated now, lowest
        ratio first. Marks, prices and price validity are computed once for the whole sweep;
        maintenance margin ignores open orders, so only positions are read. A sub-account whose
        mark is still inside its safe band is skipped unevaluated (domain.mark_bands)."""
        return self._scan_margins({s: self.margin_price_usable(s, at) for s in self.markets})

    def prepare_liquidation_sweep(self) -> None:
        """Make every safe band now (at start-up, before commands flow), so that the first
        sweep evaluates only the accounts that moved since: the scan as if every price were
        usable for margin, its findings dropped."""
        self._scan_margins(dict.fromkeys(self.markets, True))

    def _scan_margins(self, usable: dict[str, bool]) -> list[tuple[int, str]]:
        params = {s: m.params for s, m in self.markets.items()}
        env = MarginEnv(params=params, marks={s: self.mark_price(s) or 0 for s in self.markets},
                        prices=self.collateral_prices())
        marks = env.marks
        bands = self._mark_bands
        bands.keep_if_still(params, asset_price(_USDC, env.prices))
        found = []

        def evaluate(owner: str, number: int, sub) -> tuple | None:  # noqa: ANN001
            """The exact test (a liquidatable sub-account goes to `found`); returns the
            sub-account's band `(market, low, high)`, None when it holds no position."""
            exposures = {m: Exposure(p.base, p.entry_notional) for m, p in sub.positions.items() if p.base}
            if not exposures:
                return None
            if not all(usable[m] for m in exposures):
                return NO_BAND
            requirement = maintenance_requirement(exposures, env)
            held = equity(sub.balances, exposures, env, maintenance=True)
            if held < requirement:
                found.append((held * BPS // requirement, book_account_key(owner, number)))
            return bands.band(sub.balances, exposures, env, held - requirement)

        known_bands = bands.by_owner  # read and written inline: the loop runs once per account
        for owner, account in self.accounts.items():
            known = known_bands.get(owner)
            if known is not None and known[0] is account and known[1] == account.version:
                market = known[2]
                if market is NO_POSITION:
                    continue
                if market is SEVERAL:
                    if all(low <= marks[m] <= high for m, low, high in known[3]):
                        continue
                elif market is not None and known[3] <= marks[market] <= known[4]:
                    continue
            # One band per account: that of its one sub-account with a position, if only one has.
            band = NO_POSITION_BAND
            for number, sub in account.sub_accounts.items():
                made = evaluate(owner, number, sub)
                if made is not None:
                    band = made if band is NO_POSITION_BAND else NO_BAND
            known_bands[owner] = (account, account.version, band[0], band[1], band[2])
        found.sort()
        return found
