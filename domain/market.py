"""The Market aggregate: one perpetual market, its parameters, status, order book, off-book
trigger orders and fee pool.

The book (`domain.book`) is deterministic, so the Market records the *inputs* of each book call
together with what the call returned (fills, what rested, what was cancelled): projections read
the results from the event, and replay re-runs the same call, which rebuilds the same book.
Live, the book call runs first (a rejected call changes nothing and records no event); the event
body then finds the result already applied and only updates the Market's own bookkeeping
(`market_live_calls`). The state's plain forms (state hash, snapshots) are in `market_state`.

Every event class stays defined on this class in this module: a stored event's topic is
`domain.market:Market.<Event>`, so moving one would leave the stored log undecodable.

Invariants: the book is never crossed (the book's invariant); the fee pool only changes by the
fees recorded in `OrderPlaced`/`OrderModified` events; a reduce-only id set only holds resting
orders. Known limit: fees are in USDC quote units (1e6) only.
"""

from eventsourcing.domain import event

from .aggregate import DomainAggregate, hot_path
from .book import CancelReason, OrderBook, PlaceResult, TriggerBook
from .funding import FUNDING_PERIOD
from .ids import market_aggregate_id
from .market_live_calls import LiveBookCalls
from .market_params import MarketParams, MarketStatus
from .market_payloads import (
    BOOK_CANCEL_REASONS,
    cancelled_payload,
    new_order_from,
    placement_payload,
    resting_payload,
    trigger_order_from,
    trigger_payload,
)
from .market_state import MarketStateForms
from .oracle_validity import next_twap


class Market(LiveBookCalls, MarketStateForms, DomainAggregate):
    """One perpetual market (natural key: its symbol)."""

    # Risk state (class defaults also serve snapshots older than these fields).
    mark_twap: int | None = None
    mark_twap_at: int | None = None
    last_funding_period = 0
    cumulative_funding_rate = 0
    breaker_prior_status: str | None = None

    @staticmethod
    def create_id(symbol: str):  # noqa: ANN205
        """uuid5 of the symbol: creating a market twice yields the same id."""
        return market_aggregate_id(symbol)

    @event("Created")
    def __init__(self, at: int, seq: int, symbol: str, params: dict) -> None:
        self.symbol = symbol
        self.params = MarketParams.from_payload(params)
        self.status = MarketStatus.ACTIVE
        self.book = OrderBook(self.params.tick_size)
        self.triggers = TriggerBook()
        self.fee_pool = 0
        self.last_trade_price: int | None = None
        self.reduce_only_ids: set[int] = set()
        self._live_result = None
        self.last_funding_period = at // FUNDING_PERIOD

    # ----- admin ----------------------------------------------------------------------------

    @event("ParametersChanged")
    def change_parameters(self, at: int, seq: int, changes: dict) -> None:
        """Replace some parameters (validated by the caller)."""
        self.params = self.params.changed(changes)
        self.book.tick_size = self.params.tick_size

    @event("StatusChanged")
    def set_status(self, at: int, seq: int, status: str) -> None:
        """Active, reduce-only or paused."""
        self.status = MarketStatus(status)

    # ----- orders on the book ---------------------------------------------------------------

    def place_order(self, at: int, seq: int, order: dict) -> tuple[PlaceResult, dict | None]:
        """Submit an order (an `OrderPlaced.order` payload); records `OrderPlaced` unless the book
        rejected it. Returns the book's result and the recorded placement (None if rejected)."""
        result = self.book.place(new_order_from(order))
        if not result.accepted:
            return result, None
        placement = self.placement_payload(result)
        with self._already_applied(result):
            self._record_order_placed(at=at, seq=seq, order=order, **placement)
        return result, placement

    @event("OrderPlaced")
    def _record_order_placed(
        self, at: int, seq: int, order: dict, fills: list, rested_size: int, rested_price: int | None,
        cancelled_size: int, cancel_reason: str | None, stp_cancelled: list,
    ) -> None:
        self._once(lambda: self.book.place(new_order_from(order)))
        self._after_matching(order["order_id"], order["reduce_only"] and rested_size > 0, fills, stp_cancelled)

    def modify_order(self, at: int, seq: int, order_id: int, new_price: int, new_size: int, reduce_only: bool):
        """Cancel-replace a resting order; records `OrderModified` unless the book rejected it.
        Returns the book's result and the recorded placement (None if none happened)."""
        resting = self.book.order(order_id)
        result = self.book.modify(order_id, new_price=new_price, new_size=new_size)
        if result.accepted:
            placed = result.replaced
            payload = self.placement_payload(placed) if placed else None
            with self._already_applied(result):
                self._record_order_modified(
                    at=at, seq=seq, order_id=order_id, account=resting.account, side=str(resting.side),
                    new_price=new_price, new_size=new_size, kept_priority=result.kept_priority,
                    old_price=result.old_price, old_size=result.old_size, placement=payload,
                )
            return result, payload
        return result, None

    @event("OrderModified")
    def _record_order_modified(
        self, at: int, seq: int, order_id: int, account: str, side: str, new_price: int, new_size: int,
        kept_priority: bool, old_price: int, old_size: int, placement: dict | None,
    ) -> None:
        self._once(lambda: self.book.modify(order_id, new_price=new_price, new_size=new_size))
        if placement is not None:
            still_resting = self.book.order(order_id) is not None
            keep = order_id in self.reduce_only_ids and still_resting
            self.reduce_only_ids.discard(order_id)
            self._after_matching(order_id, keep, placement["fills"], placement["stp_cancelled"])

    def cancel_orders(self, at: int, seq: int, order_ids: list[int], reason: str) -> list[dict]:
        """Remove resting orders (unknown ids are skipped); one `OrdersCancelled` event if any."""
        resting = [self.book.order(i) for i in order_ids]
        cancelled = [resting_payload(order) for order in resting if order is not None]
        if cancelled:
            self._record_orders_cancelled(at=at, seq=seq, reason=reason, cancelled=cancelled)
        return cancelled

    @event("OrdersCancelled")
    def _record_orders_cancelled(self, at: int, seq: int, reason: str, cancelled: list) -> None:
        book_reason = BOOK_CANCEL_REASONS.get(reason, CancelReason.ADMIN)
        for order in cancelled:
            self.book.cancel(order["order_id"], book_reason)
            self.reduce_only_ids.discard(order["order_id"])

    def expire_orders(self, at: int, seq: int) -> list[dict]:
        """Remove GTT orders expired at `at`; one `OrdersExpired` event if any."""
        expired = self.book.expire(at)
        if not expired:
            return []
        cancelled = [cancelled_payload(c) for c in expired]
        with self._already_applied(expired):
            self._record_orders_expired(at=at, seq=seq, cancelled=cancelled)
        return cancelled

    @event("OrdersExpired")
    def _record_orders_expired(self, at: int, seq: int, cancelled: list) -> None:
        self._once(lambda: self.book.expire(at))
        for order in cancelled:
            self.reduce_only_ids.discard(order["order_id"])

    # ----- off-book trigger orders ----------------------------------------------------------

    def place_trigger(self, at: int, seq: int, trigger: dict, reference_price: int | None) -> str | None:
        """Store a trigger order off-book (the risk engine fires it later); returns the trigger
        book's reject reason, or None when recorded as `TriggerOrderPlaced`."""
        reason = self.triggers.add(trigger_order_from(trigger), reference_price)
        if reason is not None:
            return str(reason)
        with self._already_applied(True):
            self._record_trigger_placed(at=at, seq=seq, trigger=trigger, reference_price=reference_price)
        return None

    @event("TriggerOrderPlaced")
    def _record_trigger_placed(self, at: int, seq: int, trigger: dict, reference_price: int | None) -> None:
        self._once(lambda: self.triggers.add(trigger_order_from(trigger), reference_price))

    def cancel_triggers(self, at: int, seq: int, trigger_ids: list, reason: str) -> list[dict]:
        """Remove waiting trigger orders (unknown ids are skipped); one event if any."""
        waiting = [self.triggers.get(i) for i in trigger_ids]
        cancelled = [trigger_payload(w) for w in waiting if w is not None]
        if cancelled:
            self._record_triggers_cancelled(at=at, seq=seq, reason=reason, cancelled=cancelled)
        return cancelled

    @event("TriggerOrdersCancelled")
    def _record_triggers_cancelled(self, at: int, seq: int, reason: str, cancelled: list) -> None:
        for trigger in cancelled:
            self.triggers.cancel(trigger["order_id"])

    # ----- risk: mark, funding, triggers, circuit breaker ------------------------------------

    @event("MarkPriceUpdated")
    def update_mark(self, at: int, seq: int, mark_price: int, oracle_price: int, book_mid: int | None) -> None:
        """A new mark sample (on every accepted oracle price); moves the mark TWAP."""
        self.mark_twap = next_twap(self.mark_twap, self.mark_twap_at, mark_price, at)
        self.mark_twap_at = at

    @event("FundingRateUpdated")
    def record_funding(
        self, at: int, seq: int, rate: int, mark_price: int, index_price: int, period: int, periods: int,
        premium: int, clamp: int, payments: int, rounding_to_insurance: int,
    ) -> None:
        """Funding settled for `periods` hours up to `period` at `rate` (1e9, total)."""
        self.last_funding_period = period
        self.cumulative_funding_rate += rate

    def evaluate_triggers(self, at: int, seq: int, price: int) -> list:
        """Run the trigger book at `price`; records `TriggersEvaluated` when something fired or
        trailing stops may have moved. Returns the fired triggers (book `Triggered`)."""
        if not self.triggers.trailing and not self._any_trigger_crossed(price):
            return []
        fired = self.triggers.on_price(price)
        with self._already_applied(fired or True):
            self._record_triggers_evaluated(at=at, seq=seq, price=price, fired=[t.order.trigger_id for t in fired])
        return fired

    @event("TriggersEvaluated")
    def _record_triggers_evaluated(self, at: int, seq: int, price: int, fired: list) -> None:
        self._once(lambda: self.triggers.on_price(price))

    def _any_trigger_crossed(self, price: int) -> bool:
        rises, falls = self.triggers.rises, self.triggers.falls
        return bool((rises and rises[0][0] <= price) or (falls and falls[-1][0] >= price))

    @event("CircuitBreakerTripped")
    def trip_breaker(self, at: int, seq: int, oracle_validity: str, invalid_since: int, prior_status: str) -> None:
        """The underlying's price was invalid too long: the market is paused."""
        self.breaker_prior_status = prior_status
        self.status = MarketStatus.PAUSED

    @event("CircuitBreakerReset")
    def reset_breaker(self, at: int, seq: int, oracle_validity: str, status: str) -> None:
        """The underlying's price is valid again: the market resumes its prior status."""
        self.breaker_prior_status = None
        self.status = MarketStatus(status)

    # ----- queries --------------------------------------------------------------------------

    def placement_payload(self, result: PlaceResult) -> dict:
        """The JSON-safe record of a book result, with the fees of each fill."""
        return placement_payload(result, self.params)

    # ----- internals ------------------------------------------------------------------------

    def _after_matching(self, order_id: int, rests_reduce_only: bool, fills: list, stp_cancelled: list) -> None:
        for fill in fills:
            self.fee_pool += fill["maker_fee"] + fill["taker_fee"]
            if fill["maker_remaining"] == 0:
                self.reduce_only_ids.discard(fill["maker_order_id"])
        if fills:
            self.last_trade_price = fills[-1]["price"]
        for cancelled in stp_cancelled:
            self.reduce_only_ids.discard(cancelled["order_id"])
        if rests_reduce_only:
            self.reduce_only_ids.add(order_id)


# Recorded for (nearly) every order: the lighter trigger of domain.aggregate, same events.
hot_path(Market, "_record_order_placed")
