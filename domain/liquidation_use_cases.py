"""Liquidation use cases of the Exchange: `liquidate` (a liquidator's command), the engine's
`liquidation_sweep`, and bankruptcy (insurance fund, then ADL).

A liquidation: the sub-account's orders and triggers are cancelled first (`Market.OrdersCancelled`
/ `TriggerOrdersCancelled`, reason Liquidation); then, market by market (largest maintenance
requirement first), the liquidator takes over part of the position at the oracle price
(`Account.Liquidated` on the liquidated account, with every input that decided it;
`Account.LiquidationTakenOver` on the liquidator; `InsuranceFund.InsuranceFundChanged` for the
fee) until the account is back above maintenance + buffer. The whole plan is computed (pure)
before anything is recorded, so a refusal (not liquidatable, unusable price, a liquidator that
could not margin the positions) changes nothing but the recorded rejection.
A sub-account left with no position and negative collateral value is bankrupt: the fund covers
what it can (`InsuranceFundChanged`, reason BankruptcyCovered), ADL the rest
(`Account.AutoDeleveraged` per position), all summed up in `Account.DeficitCovered`.
"""

from dataclasses import dataclass, replace

from .collateral import collateral_value
from .ids import SETTLEMENT_ASSET, book_account_key, split_book_account_key
from .liquidation import MAX_LIQUIDATIONS_PER_SWEEP, AdlCandidate, adl_plan, penalty_for, takeover_size
from .margin import Exposure, free_collateral, summarize
from .numbers import BPS, notional_floor
from .oracle import InsuranceFund
from .liquidation import HEALTH_BUFFER_BPS
from .position import apply_fill, unrealized_pnl
from .rejections import RejectReason, Rejected

LIQUIDATION_CANCELLED = "Liquidation"
_USDC = SETTLEMENT_ASSET.value


@dataclass(frozen=True, slots=True)
class TakeoverStep:
    """One market's take-over, decided before anything is recorded."""

    market: str
    size: int
    side: str  # the liquidated account's side of the trade ("sell" closes a long)
    price: int
    base_after: int
    entry_after: int
    realized: int
    penalty: object
    summary: object  # MarginSummary before this step
    mark: int


class LiquidationUseCases:
    """Mixin of `Exchange` (the sweep's scan, `liquidatable`, is `margin_scan.MarginScan`'s)."""

    def liquidate(
        self, at: int, seq: int, *, owner: str, sub_account: int = 0, liquidator_owner: str,
        liquidator_sub_account: int = 0, signer: str | None = None,
    ) -> list:
        """Liquidate a sub-account below maintenance margin; the liquidator takes the positions
        over at the oracle price and earns half of the penalty. Returns the steps taken."""
        liquidator_key = book_account_key(liquidator_owner, liquidator_sub_account)
        with self._rejecting(at, seq, "Liquidate", liquidator_owner, liquidator_sub_account):
            self._trading_account(liquidator_owner, liquidator_sub_account, signer)
            account = self.accounts.get(owner) if isinstance(owner, str) else None
            if account is None or not isinstance(sub_account, int) or account.sub(sub_account) is None:
                raise Rejected(RejectReason.UNKNOWN_ACCOUNT, "no such sub-account to liquidate")
            if liquidator_key == book_account_key(owner, sub_account):
                raise Rejected(RejectReason.INVALID_LIQUIDATOR, "an account cannot liquidate itself")
            steps = self._plan_liquidation(at, owner, sub_account)
            self._check_liquidator(liquidator_owner, liquidator_sub_account, steps)
        self._execute(at, seq, owner, sub_account, liquidator_key, steps)
        return steps

    def liquidation_sweep(self, at: int, seq: int, liquidator: str) -> list:
        """Liquidate every liquidatable sub-account (lowest margin ratio first, at most
        MAX_LIQUIDATIONS_PER_SWEEP) with `liquidator` ("owner/sub"); returns their keys."""
        liquidator_owner, liquidator_sub = split_book_account_key(liquidator)
        done = []
        for _, key in self.liquidatable(at)[:MAX_LIQUIDATIONS_PER_SWEEP]:
            owner, sub = split_book_account_key(key)
            if key == liquidator:
                continue
            try:
                self.liquidate(at, seq, owner=owner, sub_account=sub, liquidator_owner=liquidator_owner,
                               liquidator_sub_account=liquidator_sub)
                done.append(key)
            except Rejected:
                pass  # recorded on the liquidator's account
        return done

    # ----- plan -----------------------------------------------------------------------------

    def _plan_liquidation(self, at: int, owner: str, sub_account: int) -> list[TakeoverStep]:
        sub = self.accounts[owner].sub(sub_account)
        held = sorted(m for m, p in sub.positions.items() if p.base)
        if not held:
            raise Rejected(RejectReason.NOT_LIQUIDATABLE, "no position")
        for market in held:
            if not self.margin_price_usable(market, at):
                raise Rejected(RejectReason.ORACLE_PRICE_INVALID, f"{market}: {self.oracle_validity(market, at)}")
        exposures, env = self._margin_inputs(owner, sub_account)
        exposures = {m: replace(e, open_bids=0, open_asks=0) for m, e in exposures.items()}  # orders go first
        balances = dict(sub.balances)
        summary = summarize(balances, exposures, env)
        if not summary.liquidatable:
            raise Rejected(RejectReason.NOT_LIQUIDATABLE, f"margin ratio {summary.margin_ratio_bps} bps")
        order = sorted(held, key=lambda m: (-summarize(balances, {m: exposures[m]}, env).maintenance_requirement, m))
        steps = []
        for market in order:
            # Partial first; if the account is still under maintenance after it (the estimate
            # is conservative, so rarely), the rest of this market's position.
            for attempt in (0, 1):
                healthy = summary.maintenance_equity * BPS >= summary.maintenance_requirement * (BPS + HEALTH_BUFFER_BPS)
                if (steps and healthy) or (attempt and not summary.liquidatable) or not exposures[market].base:
                    break
                step = self._takeover_step(market, exposures[market], env.marks[market], summary, whole=bool(attempt))
                if step is None:
                    break
                steps.append(step)
                exposures[market] = Exposure(base=step.base_after, entry_notional=step.entry_after)
                balances[_USDC] = balances.get(_USDC, 0) + step.realized - step.penalty.total
                summary = summarize(balances, exposures, env)
            if steps and summary.maintenance_equity * BPS >= summary.maintenance_requirement * (BPS + HEALTH_BUFFER_BPS):
                break
        return steps

    def _takeover_step(self, market: str, exposure: Exposure, mark: int, summary, whole: bool) -> TakeoverStep | None:
        """The next take-over in one market at the oracle price (None when nothing is needed)."""
        params = self.markets[market].params
        price = self.oracles[params.base_asset].price
        _, mmr = params.ratios_for(abs(exposure.base))
        size = abs(exposure.base) if whole else takeover_size(
            exposure.base, mark, price, mmr, params.lot_size, summary.maintenance_equity, summary.maintenance_requirement)
        if size == 0:
            return None
        sign = 1 if exposure.base > 0 else -1
        notional = notional_floor(price, size)
        base_after, entry_after, realized = apply_fill(exposure.base, exposure.entry_notional, -sign * size, notional)
        equity_left = (summary.maintenance_equity + realized
                       - unrealized_pnl(exposure.base, exposure.entry_notional, mark)
                       + unrealized_pnl(base_after, entry_after, mark))
        return TakeoverStep(market, size, "sell" if sign > 0 else "buy", price, base_after, entry_after, realized,
                            penalty_for(notional, equity_left), summary, mark)

    def _check_liquidator(self, owner: str, sub_account: int, steps: list[TakeoverStep]) -> None:
        """The liquidator must still meet initial margin with the positions taken over."""
        exposures, env = self._margin_inputs(owner, sub_account)
        balances = dict(self.accounts[owner].sub(sub_account).balances)
        for step in steps:
            current = exposures.get(step.market) or Exposure()
            delta = step.size if step.side == "sell" else -step.size  # the liquidator takes the other side
            base, entry, realized = apply_fill(current.base, current.entry_notional, delta,
                                               notional_floor(step.price, step.size))
            exposures[step.market] = replace(current, base=base, entry_notional=entry)
            env.marks.setdefault(step.market, step.mark)
            env.params.setdefault(step.market, self.markets[step.market].params)
            balances[_USDC] = balances.get(_USDC, 0) + realized + step.penalty.liquidator
        if free_collateral(balances, exposures, env) < 0:
            raise Rejected(RejectReason.INSUFFICIENT_MARGIN, "the liquidator cannot margin the positions taken over")

    # ----- execution ------------------------------------------------------------------------

    def _execute(self, at: int, seq: int, owner: str, sub_account: int, liquidator_key: str, steps: list) -> None:
        markets = [self.markets[s] for s in sorted(self.markets)]
        self._cancel_everything(at, seq, owner, [sub_account], markets, LIQUIDATION_CANCELLED)
        account = self.accounts[owner]
        liquidator_owner, liquidator_sub = split_book_account_key(liquidator_key)
        liquidator = self.accounts[liquidator_owner]
        for step in steps:
            oracle = self.oracles[self.markets[step.market].params.base_asset]
            summary = step.summary
            account.liquidate(
                at=at, seq=seq, sub_account=sub_account, market=step.market, size=step.size, side=step.side,
                price=step.price, base_after=step.base_after, entry_notional_after=step.entry_after,
                realized_pnl=step.realized, penalty=step.penalty.total, liquidator_reward=step.penalty.liquidator,
                insurance_fee=step.penalty.insurance, liquidator=liquidator_key, reason="MaintenanceMarginBreached",
                margin_ratio_bps=summary.margin_ratio_bps, maintenance_margin=summary.maintenance_requirement,
                collateral_value=summary.maintenance_equity, mark_price=step.mark, oracle_price=oracle.price,
                oracle_confidence=oracle.confidence, oracle_validity=self.oracle_validity(step.market, at),
                oracle_publish_time=oracle.publish_time,
            )
            position = liquidator.sub(liquidator_sub).position(step.market)
            delta = step.size if step.side == "sell" else -step.size
            base, entry, realized = apply_fill(position.base, position.entry_notional, delta,
                                               notional_floor(step.price, step.size))
            liquidator.take_over(
                at=at, seq=seq, sub_account=liquidator_sub, market=step.market, size=step.size,
                side="buy" if step.side == "sell" else "sell", price=step.price, base_after=base,
                entry_notional_after=entry, realized_pnl=realized, reward=step.penalty.liquidator,
                liquidated=book_account_key(owner, sub_account),
            )
            self._change_fund(at, seq, step.penalty.insurance, "LiquidationFee", book_account_key(owner, sub_account), step.market)
        self._touch(account)
        self._touch(liquidator)
        self._resolve_bankruptcy(at, seq, owner, sub_account, steps)

    def _change_fund(self, at: int, seq: int, delta: int, reason: str, account: str | None, market: str | None) -> None:
        if delta == 0:
            return
        if self.insurance_fund is None:
            self.insurance_fund = InsuranceFund(at=at, seq=seq)
        fund = self.insurance_fund
        fund.change(at=at, seq=seq, delta=delta, balance=fund.balance + delta, reason=reason, account=account, market=market)
        self._touch(fund)

    def _resolve_bankruptcy(self, at: int, seq: int, owner: str, sub_account: int, steps: list) -> None:
        sub = self.accounts[owner].sub(sub_account)
        if any(p.base for p in sub.positions.values()):
            return
        value = collateral_value(sub.balances, self.collateral_prices(), maintenance=True)
        if value >= 0:
            return
        deficit = -value
        key = book_account_key(owner, sub_account)
        fund_balance = self.insurance_fund.balance if self.insurance_fund is not None else 0
        covered = min(deficit, max(fund_balance, 0))
        self._change_fund(at, seq, -covered, "BankruptcyCovered", key, steps[-1].market if steps else None)
        plan = adl_plan(deficit - covered, self._adl_candidates(steps, key)) if deficit > covered else []
        deleveraged = []
        for candidate, amount in plan:
            other_owner, other_sub = split_book_account_key(candidate.key)
            other = self.accounts[other_owner]
            other.deleverage(
                at=at, seq=seq, sub_account=other_sub, market=candidate.market, amount=amount,
                position_size=candidate.base, unrealized_pnl=candidate.unrealized_pnl, score=candidate.score(),
                bankrupt=key,
            )
            self._touch(other)
            deleveraged.append({"account": candidate.key, "market": candidate.market, "amount": amount})
        adl_total = sum(a for _, a in plan)
        self.accounts[owner].cover_deficit(
            at=at, seq=seq, sub_account=sub_account, deficit=deficit, insurance_covered=covered,
            adl_covered=adl_total, unresolved=deficit - covered - adl_total, deleveraged=deleveraged,
        )

    def _adl_candidates(self, steps: list, bankrupt: str) -> list[AdlCandidate]:
        """Positions opposite to the liquidated ones, in profit at the mark."""
        wanted = {s.market: (1 if s.side == "sell" else -1) for s in steps}  # the bankrupt's side was long if it sold
        candidates = []
        for owner in sorted(self.accounts):
            for number, sub in sorted(self.accounts[owner].sub_accounts.items()):
                key = book_account_key(owner, number)
                if key == bankrupt:
                    continue
                for market, bankrupt_sign in wanted.items():
                    position = sub.positions.get(market)
                    if position is None or position.base == 0 or (position.base > 0) == (bankrupt_sign > 0):
                        continue
                    mark = self.mark_price(market)
                    pnl = unrealized_pnl(position.base, position.entry_notional, mark)
                    if pnl <= 0:
                        continue
                    summary = self.margin(owner, number)
                    candidates.append(AdlCandidate(key, market, position.base, pnl, summary.maintenance_equity,
                                                   notional_floor(mark, abs(position.base))))
        return candidates
