"""Oracle use cases of the Exchange: Pyth-shaped price updates with their validity, the mark
samples they drive, trigger orders fired by the mark, and the circuit breaker.

A price update (`set_oracle_price`) is always recorded: accepted (`Oracle.PriceSet`) or refused
(`Oracle.PriceRejected`, the reason in `oracle_validity`). After an accepted price of a market's
underlying: a mark sample (`Market.MarkPriceUpdated`), then the market's trigger orders are
evaluated at the new mark and the fired ones are sent to the book in (trigger price, arrival)
order, each margin-checked like a new order (a refusal is `Account.CommandRejected`, command
"FireTrigger"). `risk_sweep` re-evaluates validity with time (staleness), trips/resets circuit
breakers and fires triggers; the liquidations it runs are in `liquidation_use_cases`.
"""

from .book import TriggerKind
from .ids import split_book_account_key
from .market_params import MarketStatus
from .mark import book_mid, mark_from
from .numbers import BPS, MAX_PRICE
from .oracle import Oracle
from .oracle_validity import (
    BREAKER_AFTER,
    MARGIN_OK,
    TRADING_OK,
    FUNDING_OK,
    MARGIN_STALENESS,
    STALE_FOR_MARGIN,
    STALE_FOR_TRADING,
    TRADING_STALENESS,
    VALID,
    diverges,
    invalid_since,
    refusal_of,
    to_price_scale,
    validity_at,
)
from .margin import initial_requirement
from .order_checks import cap_reduce_only, check_status, with_order
from .rejections import RejectReason, Rejected

FIRED_MARKET_BAND_BPS = 500  # protective worst price of a fired market-kind trigger: mark +/- 5%
_MARKET_KINDS = {TriggerKind.STOP_MARKET, TriggerKind.TAKE_PROFIT_MARKET, TriggerKind.TRAILING_STOP}


class OracleUseCases:
    """Mixin of `Exchange`."""

    def set_oracle_price(
        self, at: int, seq: int, *, symbol: str, price: int, confidence: int = 0, publish_time: int | None = None,
        exponent: int = -6,
    ) -> Oracle:
        """Record a Pyth-shaped price (value x 10^exponent) of an asset or underlying: accepted
        or refused with its reason; an accepted underlying price moves marks and fires triggers."""
        if not isinstance(symbol, str) or not symbol.isalnum() or not symbol.isupper():
            raise Rejected(RejectReason.UNKNOWN_ASSET, f"bad price symbol {symbol!r}")
        if type(exponent) is not int or not -18 <= exponent <= 6:
            raise Rejected(RejectReason.INVALID_PRICE, "exponent must be an int in -18..6")
        if type(price) is not int or type(confidence) is not int or price <= 0 or confidence < 0:
            raise Rejected(RejectReason.INVALID_PRICE, "price must be a positive int, confidence >= 0")
        price, confidence = to_price_scale(price, exponent, False), to_price_scale(confidence, exponent, True)
        if not 0 < price <= MAX_PRICE or confidence > MAX_PRICE:
            raise Rejected(RejectReason.INVALID_PRICE, "price out of range after scaling")
        if publish_time is not None and (type(publish_time) is not int or publish_time < 0):
            raise Rejected(RejectReason.INVALID_PRICE, "publish time must be an int (ns)")
        publish = at if publish_time is None else publish_time
        oracle = self.oracles.get(symbol)
        if oracle is None:
            oracle = Oracle(at=at, seq=seq, symbol=symbol, price=price, confidence=confidence, publish_time=publish)
            self.oracles[symbol] = oracle
            self._touch(oracle)
            self._after_price(at, seq, symbol)
            return oracle
        markets = self._markets_on(symbol)
        mark_twap = next((m.mark_twap for m in markets if m.mark_twap), None)
        refusal = refusal_of(price, confidence, publish, oracle.price, oracle.publish_time)
        if refusal is not None:
            oracle.reject_price(
                at=at, seq=seq, price=price, confidence=confidence, publish_time=publish, reason=refusal,
                reference_price=oracle.price, mark_twap=mark_twap,
            )
        else:
            diverging = diverges(price, mark_twap)
            oracle.set_price(
                at=at, seq=seq, price=price, confidence=confidence, publish_time=publish, exponent=exponent,
                validity=validity_at(at, publish, None, diverging), diverging=diverging,
            )
        self._touch(oracle)
        if refusal is None:
            self._after_price(at, seq, symbol)
        else:
            for market in markets:
                self._check_breaker(at, seq, market)
        return oracle

    def risk_sweep(self, at: int, seq: int, *, liquidator: str | None = None) -> dict:
        """The time/price sweep: record oracle validity changes, trip or reset circuit breakers,
        fire due triggers, and (with a liquidator "owner/sub") liquidate what is liquidatable."""
        if liquidator is not None and (
            not isinstance(liquidator, str) or not liquidator.rpartition("/")[2].isdigit()
            or liquidator.rpartition("/")[0] not in self.accounts
        ):
            raise Rejected(RejectReason.INVALID_LIQUIDATOR, "the liquidator must be an existing owner/sub-account")
        for symbol in sorted(self.oracles):
            self._record_validity(at, seq, self.oracles[symbol])
        fired = 0
        for symbol in sorted(self.markets):
            market = self.markets[symbol]
            self._check_breaker(at, seq, market)
            fired += self._fire_triggers(at, seq, market)
        liquidated = self.liquidation_sweep(at, seq, liquidator) if liquidator else []
        return {"triggers_fired": fired, "liquidated": liquidated}

    # ----- queries --------------------------------------------------------------------------

    def oracle_validity(self, symbol: str, at: int) -> str | None:
        """The state of the oracle of a market's underlying at `at`; None if never priced."""
        oracle = self.oracles.get(self.markets[symbol].params.base_asset)
        return None if oracle is None else validity_at(at, oracle.publish_time, oracle.refusal, oracle.diverging)

    @staticmethod
    def price_validity(oracle: Oracle, at: int) -> str:
        """The state of one oracle's price at `at`."""
        return validity_at(at, oracle.publish_time, oracle.refusal, oracle.diverging)

    @classmethod
    def price_fit_for_trading(cls, oracle: Oracle, at: int) -> bool:
        """May this price back new risk at `at` (Valid, or merely diverging from the mark)?"""
        return cls.price_validity(oracle, at) in TRADING_OK

    def mark_price(self, symbol: str) -> int | None:
        """The mark: median(oracle, best bid, best ask) bounded to the oracle +/- 5% (see
        domain.mark); the last trade when the underlying has no oracle price."""
        market = self.markets[symbol]
        oracle = self.oracles.get(market.params.base_asset)
        book = market.book
        return mark_from(oracle.price if oracle else None, book.best_bid(), book.best_ask(), market.last_trade_price)

    def trading_allowed(self, symbol: str, at: int) -> bool:
        """May new risk-increasing orders be accepted (underlying Valid, or never priced)?"""
        validity = self.oracle_validity(symbol, at)
        return validity is None or validity in TRADING_OK

    def margin_price_usable(self, symbol: str, at: int) -> bool:
        """May the mark be used for liquidation and funding (underlying priced, not stale for margin)?"""
        return self.oracle_validity(symbol, at) in MARGIN_OK

    def funding_price_usable(self, symbol: str, at: int) -> bool:
        """May funding be settled (underlying priced, not stale for margin, not diverging)?"""
        return self.oracle_validity(symbol, at) in FUNDING_OK

    # ----- internals ------------------------------------------------------------------------

    def _check_new_risk_allowed(self, at, owner, sub_account, market, side, price, size) -> None:
        """On a stale or flagged underlying price, refuse orders that raise the initial
        requirement (risk-reducing orders stay allowed)."""
        if self.trading_allowed(market, at) or size <= 0:
            return
        exposures, env = self._margin_inputs(owner, sub_account, fallback_mark=(market, price))
        if initial_requirement(with_order(exposures, market, side, size), env) > initial_requirement(exposures, env):
            raise Rejected(RejectReason.ORACLE_PRICE_INVALID, f"{market}: {self.oracle_validity(market, at)}; only risk-reducing orders")

    def _markets_on(self, symbol: str) -> list:
        return [self.markets[s] for s in sorted(self.markets) if self.markets[s].params.base_asset == symbol]

    def _after_price(self, at: int, seq: int, symbol: str) -> None:
        oracle = self.oracles[symbol]
        for market in self._markets_on(symbol):
            mark = self.mark_price(market.symbol)
            market.update_mark(
                at=at, seq=seq, mark_price=mark, oracle_price=oracle.price,
                book_mid=book_mid(market.book.best_bid(), market.book.best_ask()),
            )
            self._touch(market)
            self._check_breaker(at, seq, market)
            self._fire_triggers(at, seq, market)

    def _record_validity(self, at: int, seq: int, oracle: Oracle) -> None:
        validity = validity_at(at, oracle.publish_time, oracle.refusal, oracle.diverging)
        if validity != oracle.validity:
            oracle.change_validity(
                at=at, seq=seq, validity=validity, previous=oracle.validity, age=at - oracle.publish_time,
                since=_since(validity, at, oracle),
            )
            self._touch(oracle)

    def _check_breaker(self, at: int, seq: int, market) -> None:
        oracle = self.oracles.get(market.params.base_asset)
        if oracle is None:
            return
        validity = validity_at(at, oracle.publish_time, oracle.refusal, oracle.diverging)
        if market.breaker_prior_status is not None:
            if validity in TRADING_OK:
                market.reset_breaker(at=at, seq=seq, oracle_validity=validity, status=market.breaker_prior_status)
                self._touch(market)
            return
        since = invalid_since(oracle.publish_time, oracle.refused_at)
        if validity not in MARGIN_OK and at - since > BREAKER_AFTER and market.status is not MarketStatus.PAUSED:
            market.trip_breaker(
                at=at, seq=seq, oracle_validity=validity, invalid_since=since, prior_status=str(market.status)
            )
            self._touch(market)

    def _fire_triggers(self, at: int, seq: int, market) -> int:
        """Fire the market's triggers at its mark (only on a usable price, in an open market)."""
        if market.status is MarketStatus.PAUSED or len(market.triggers) == 0:
            return 0
        if not self.trading_allowed(market.symbol, at):
            return 0
        mark = self.mark_price(market.symbol)
        if mark is None:
            return 0
        fired = market.evaluate_triggers(at, seq, mark)
        if fired:
            self._touch(market)
        for triggered in fired:
            self._place_fired(at, seq, market, triggered, mark)
        return len(fired)

    def _place_fired(self, at: int, seq: int, market, triggered, mark: int) -> None:
        order = triggered.order
        owner, sub_account = split_book_account_key(order.account)
        side, size = str(order.side), order.size
        if order.kind in _MARKET_KINDS:
            band = mark * FIRED_MARKET_BAND_BPS // BPS
            tick = market.params.tick_size
            price = order.limit_price or (
                -(-(mark + band) // tick) * tick if side == "buy" else max(tick, (mark - band) // tick * tick)
            )
            order_type, time_in_force = "market", "ioc"
        else:
            price, order_type, time_in_force = order.limit_price, "limit", "gtc"
        try:
            with self._rejecting(at, seq, "FireTrigger", owner, sub_account, market.symbol, order.client_order_id):
                check_status(market.status, order.reduce_only)
                if order.reduce_only:
                    position = self.accounts[owner].sub(sub_account).position(market.symbol)
                    size = cap_reduce_only(
                        market.params, side, size, position.base,
                        self._reserved_reduce_only(market, order.account, side),
                    )
                else:
                    self._check_margin(at, owner, sub_account, market.symbol, side, price, size)
                payload = {
                    "order_id": order.trigger_id, "account": order.account, "side": side, "price": price,
                    "size": size, "order_type": order_type, "time_in_force": time_in_force, "post_only": "off",
                    "self_trade": "cancel_taker", "expires_at": None, "client_order_id": order.client_order_id,
                    "reduce_only": order.reduce_only,
                }
                self.submit_book_order(at, seq, market, payload)
        except Rejected:
            pass  # recorded on the account by _rejecting; the sweep goes on


def _since(validity: str, at: int, oracle: Oracle) -> int:
    """When the oracle entered `validity` (deterministic, from the recorded times)."""
    if validity == STALE_FOR_TRADING:
        return oracle.publish_time + TRADING_STALENESS
    if validity == STALE_FOR_MARGIN:
        return oracle.publish_time + MARGIN_STALENESS
    if oracle.refusal is not None and oracle.refused_at is not None:
        return oracle.refused_at
    return at
