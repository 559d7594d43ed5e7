"""Funding use case of the Exchange: `settle_funding`, a command carrying its time.

For each market (symbol order) whose current hour has not been settled: the rate from the mark
TWAP and the oracle TWAP (domain.funding), times the number of hours since the last settlement
(a missed hour is settled once, here; never twice: the market records the last period settled).
One `Account.FundingPaid` per position (owners in order, then sub-accounts), then
`Market.FundingRateUpdated`; the rounding remainder goes to the insurance fund
(`InsuranceFundChanged`, reason FundingRounding). A market whose underlying price is not usable
for margin is not settled (it is caught up at the next settlement with a usable price).
"""

from .funding import FUNDING_PERIOD, funding_rate, payment
from .rejections import RejectReason, Rejected


class FundingUseCases:
    """Mixin of `Exchange`."""

    def settle_funding(self, at: int, seq: int, *, market: str | None = None) -> dict:
        """Settle funding of one market (rejections typed) or of all (those due and priced);
        returns {market: rate settled}."""
        if market is not None:
            return {market: self._settle_market(at, seq, self._market(market))}
        settled = {}
        for symbol in sorted(self.markets):
            try:
                settled[symbol] = self._settle_market(at, seq, self.markets[symbol])
            except Rejected:
                continue  # not due, or no usable price: the next settlement catches it up
        return settled

    def _settle_market(self, at: int, seq: int, market) -> int:
        period = at // FUNDING_PERIOD
        if period <= market.last_funding_period:
            raise Rejected(RejectReason.FUNDING_ALREADY_SETTLED, f"{market.symbol}: period {period} already settled")
        if not self.funding_price_usable(market.symbol, at):
            raise Rejected(RejectReason.ORACLE_PRICE_INVALID, f"{market.symbol}: {self.oracle_validity(market.symbol, at)}")
        oracle = self.oracles[market.params.base_asset]
        index = oracle.twap or oracle.price
        mark = market.mark_twap or self.mark_price(market.symbol)
        periods = period - market.last_funding_period
        rate, premium, clamp = funding_rate(mark, index, market.params.maintenance_margin_bps)
        total_rate = rate * periods
        paid = 0
        count = 0
        for owner in sorted(self.accounts):
            account = self.accounts[owner]
            for number, sub in sorted(account.sub_accounts.items()):
                position = sub.positions.get(market.symbol)
                if position is None or position.base == 0:
                    continue
                amount = payment(position.base, index, total_rate)
                account.pay_funding(
                    at=at, seq=seq, sub_account=number, market=market.symbol, rate=total_rate, amount=amount,
                    position_size=position.base, period=period, index_price=index,
                )
                self._touch(account)
                paid += amount
                count += 1
        market.record_funding(
            at=at, seq=seq, rate=total_rate, mark_price=mark, index_price=index, period=period, periods=periods,
            premium=premium, clamp=clamp, payments=count, rounding_to_insurance=-paid,
        )
        self._touch(market)
        self._change_fund(at, seq, -paid, "FundingRounding", None, market.symbol)
        return total_rate
