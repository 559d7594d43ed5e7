"""Order use cases of the Exchange: place (book and trigger orders), cancel, cancel-all, modify,
the dead-man switch and the time-driven expiry sweep.

Events per accepted order: one `Market.OrderPlaced` (the order, its fills with fees, what rested,
what self-trade prevention cancelled) and one `Account.TradeSettled` per owner that traded.
Reduce-only orders that a fill made too large are cancelled in the same command
(`Market.OrdersCancelled`, reason ReduceOnlyCancelled), so reduce-only never increases exposure.
Time-driven cancellations (GTT expiry, dead-man switch) are in `time_use_cases`.
"""

from dataclasses import dataclass

from .book import PlaceResult, Side
from .ids import book_account_key
from .order_checks import (
    MAX_OPEN_ORDERS_PER_MARKET,
    MAX_TRIGGER_ORDERS_PER_MARKET,
    TRIGGER_ORDER_TYPES,
    cap_reduce_only,
    check_initial_margin,
    check_order_shape,
    check_price,
    check_size,
    check_status,
    is_int,
    with_order,
)
from .rejections import RejectReason, Rejected
from .settlement import settlements_for

REDUCE_ONLY_CANCELLED = "ReduceOnlyCancelled"
USER_CANCELLED = "Cancelled"


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """What happened to an accepted order (sizes 1e9)."""

    order_id: int
    status: str  # "filled", "partially_filled", "resting", "cancelled", "waiting_trigger"
    size: int  # after any reduce-only cap
    filled_size: int
    resting_size: int
    cancelled_size: int
    fills: list


class OrderUseCases:
    """Mixin of `Exchange`."""

    def place_order(
        self, at: int, seq: int, *, owner: str, sub_account: int, market: str, side: str, size: int,
        price: int | None = None, order_type: str = "limit", time_in_force: str = "gtc",
        post_only: str = "off", self_trade: str = "cancel_taker", reduce_only: bool = False,
        client_order_id: str | None = None, expires_at: int | None = None, trigger_price: int | None = None,
        trail_amount: int | None = None, trail_bps: int | None = None, signer: str | None = None,
    ) -> OrderOutcome:
        """Place a limit, market (price = worst price) or trigger order."""
        key = book_account_key(owner, sub_account)
        with self._rejecting(at, seq, "PlaceOrder", owner, sub_account, market, client_order_id):
            account = self._trading_account(owner, sub_account, signer)
            the_market = self._market(market)
            params = the_market.params
            check_order_shape(
                side=side, order_type=order_type, time_in_force=time_in_force, post_only=post_only,
                self_trade=self_trade, client_order_id=client_order_id, expires_at=expires_at, at=at,
                reduce_only=reduce_only,
            )
            check_status(the_market.status, reduce_only)
            check_size(params, size)
            self._check_client_order_id(key, client_order_id)
            if order_type in TRIGGER_ORDER_TYPES:
                if the_market.triggers.order_count(key) >= MAX_TRIGGER_ORDERS_PER_MARKET:
                    raise Rejected(RejectReason.TOO_MANY_OPEN_ORDERS, f"at most {MAX_TRIGGER_ORDERS_PER_MARKET} trigger orders")
                return self._place_trigger(
                    at, seq, the_market, key, side, size, order_type, price, trigger_price, trail_amount,
                    trail_bps, reduce_only, client_order_id,
                )
            check_price(params, price)
            if the_market.book.order_count(key) >= MAX_OPEN_ORDERS_PER_MARKET:
                raise Rejected(RejectReason.TOO_MANY_OPEN_ORDERS, f"at most {MAX_OPEN_ORDERS_PER_MARKET} resting orders")
            position = account.sub(sub_account).position(market)
            if reduce_only:
                size = cap_reduce_only(params, side, size, position.base, self._reserved_reduce_only(the_market, key, side))
            else:
                self._check_new_risk_allowed(at, owner, sub_account, market, side, price, size)
                self._check_margin(at, owner, sub_account, market, side, price, size)
            order = {
                "order_id": seq, "account": key, "side": side, "price": price, "size": size,
                "order_type": order_type, "time_in_force": time_in_force, "post_only": post_only,
                "self_trade": self_trade, "expires_at": expires_at if time_in_force == "gtt" else None,
                "client_order_id": client_order_id, "reduce_only": reduce_only,
            }
            return self.submit_book_order(at, seq, the_market, order)

    def submit_book_order(self, at: int, seq: int, market, order: dict) -> OrderOutcome:
        """Send an already validated order (an `OrderPlaced.order` payload) to the book, settle
        its fills and trim reduce-only orders. Raises Rejected if the book refuses it.

        The path shared by `place_order` and, later, by the risk engine (fired triggers keep
        their trigger id as order id; liquidation orders)."""
        result, placement = market.place_order(at, seq, order)
        if placement is None:
            raise Rejected(RejectReason(str(result.reject_reason)), f"refused by the book: {result.reject_reason}")
        self._touch(market)
        fills = self._settle(at, seq, market, order, placement["fills"])
        return _outcome(order["order_id"], order["size"], result, fills)

    def cancel_order(
        self, at: int, seq: int, *, owner: str, sub_account: int, market: str, order_id: int | None = None,
        client_order_id: str | None = None, signer: str | None = None,
    ) -> list:
        """Cancel one resting or waiting-trigger order, by order id or client order id."""
        key = book_account_key(owner, sub_account)
        with self._rejecting(at, seq, "CancelOrder", owner, sub_account, market, client_order_id):
            self._trading_account(owner, sub_account, signer)
            the_market = self._market(market)
            order_id = self._own_order_id(the_market, key, order_id, client_order_id)
        if the_market.book.order(order_id) is not None:
            the_market.cancel_orders(at, seq, [order_id], USER_CANCELLED)
        else:
            the_market.cancel_triggers(at=at, seq=seq, trigger_ids=[order_id], reason=USER_CANCELLED)
        self._touch(the_market)
        return [order_id]

    def cancel_all(
        self, at: int, seq: int, *, owner: str, sub_account: int | None = None, market: str | None = None,
        signer: str | None = None,
    ) -> list:
        """Cancel every order (and waiting trigger) of an owner, optionally of one sub-account
        and/or one market; returns the cancelled ids (none is not an error)."""
        with self._rejecting(at, seq, "CancelAll", owner, sub_account, market):
            account = self._trading_account(owner, 0 if sub_account is None else sub_account, signer)
            markets = [self._market(market)] if market is not None else [self.markets[s] for s in sorted(self.markets)]
        subs = sorted(account.sub_accounts) if sub_account is None else [sub_account]
        return self._cancel_everything(at, seq, owner, subs, markets, USER_CANCELLED)

    def modify_order(
        self, at: int, seq: int, *, owner: str, sub_account: int, market: str, new_price: int, new_size: int,
        order_id: int | None = None, client_order_id: str | None = None, signer: str | None = None,
    ) -> OrderOutcome:
        """Cancel-replace a resting order; keeps priority only when shrinking at the same price."""
        key = book_account_key(owner, sub_account)
        with self._rejecting(at, seq, "ModifyOrder", owner, sub_account, market, client_order_id):
            account = self._trading_account(owner, sub_account, signer)
            the_market = self._market(market)
            order_id = self._own_order_id(the_market, key, order_id, client_order_id)
            resting = the_market.book.order(order_id)
            if resting is None:
                raise Rejected(RejectReason.UNKNOWN_ORDER, "trigger orders cannot be modified; cancel and place")
            params = the_market.params
            reduce_only = order_id in the_market.reduce_only_ids
            check_status(the_market.status, reduce_only or (new_price == resting.price and new_size <= resting.size))
            check_price(params, new_price)
            check_size(params, new_size)
            side = str(resting.side)
            if reduce_only:
                reserved = self._reserved_reduce_only(the_market, key, side) - resting.size
                position = account.sub(sub_account).position(market)
                new_size = cap_reduce_only(params, side, new_size, position.base, reserved)
            elif not (new_price == resting.price and new_size <= resting.size):
                self._check_new_risk_allowed(at, owner, sub_account, market, side, new_price, new_size - resting.size)
                self._check_margin(at, owner, sub_account, market, side, new_price, new_size, replacing=resting)
            result, placement = the_market.modify_order(at, seq, order_id, new_price, new_size, reduce_only)
            if not result.accepted:
                raise Rejected(RejectReason(str(result.reject_reason)), f"refused by the book: {result.reject_reason}")
        self._touch(the_market)
        placed = result.replaced
        if placed is None:
            return OrderOutcome(order_id, "resting", new_size, 0, new_size, 0, [])
        order = {"order_id": order_id, "account": key, "side": side}
        fills = self._settle(at, seq, the_market, order, placement["fills"])
        return _outcome(order_id, new_size, placed, fills)

    # ----- internals ------------------------------------------------------------------------

    def _place_trigger(
        self, at, seq, market, key, side, size, kind, limit_price, trigger_price, trail_amount, trail_bps,
        reduce_only, client_order_id,
    ) -> OrderOutcome:
        params = market.params
        if kind != "trailing_stop":
            check_price(params, trigger_price, "trigger_price")
        if kind.endswith("_limit") or limit_price is not None:
            check_price(params, limit_price, "limit price")
        for trail in (trail_amount, trail_bps):
            if trail is not None and (not is_int(trail) or trail <= 0):
                raise Rejected(RejectReason.INVALID_PRICE, "trail must be a positive int")
        trigger = {
            "order_id": seq, "account": key, "side": side, "size": size, "kind": kind,
            "trigger_price": trigger_price, "limit_price": limit_price, "trail_amount": trail_amount,
            "trail_bps": trail_bps, "reduce_only": reduce_only, "client_order_id": client_order_id,
        }
        reference = self.mark_price(market.symbol) if kind == "trailing_stop" else None
        reason = market.place_trigger(at, seq, trigger, reference)
        if reason is not None:
            raise Rejected(RejectReason(reason) if reason in RejectReason._value2member_map_ else RejectReason.INVALID_ORDER, reason)
        self._touch(market)
        return OrderOutcome(seq, "waiting_trigger", size, 0, 0, 0, [])

    def _settle(self, at, seq, market, order: dict, fills: list) -> list:
        """Settle the recorded fills of a placement on the accounts, then trim reduce-only orders."""
        if not fills:
            return []
        keys = [order["account"]] + [f["maker_account"] for f in fills]
        positions = {}
        for key in keys:
            owner, sub = key.rsplit("/", 1)
            positions[key] = self.accounts[owner].sub(int(sub)).position(market.symbol)
        for owner, settlements in settlements_for(order, fills, positions).items():
            account = self.accounts[owner]
            account.settle_trades(at=at, seq=seq, market=market.symbol, settlements=settlements)
            self._touch(account)
        self._trim_reduce_only(at, seq, market, list(dict.fromkeys(keys)))
        return fills

    def _trim_reduce_only(self, at: int, seq: int, market, keys: list) -> None:
        """Cancel resting reduce-only orders that a fill made exposure-increasing: on the wrong
        side of the new position, or beyond its size (latest first)."""
        to_cancel = []
        for key in keys:
            mine = self._reduce_only_orders(market, key)
            if not mine:
                continue
            owner, sub = key.rsplit("/", 1)
            base = self.accounts[owner].sub(int(sub)).position(market.symbol).base
            reducing_side = Side.SELL if base > 0 else Side.BUY
            room = abs(base)
            for order in sorted(mine, key=lambda o: o.sequence):
                if base != 0 and order.side is reducing_side and order.size <= room:
                    room -= order.size
                else:
                    to_cancel.append(order.order_id)
        if to_cancel:
            market.cancel_orders(at, seq, to_cancel, REDUCE_ONLY_CANCELLED)

    def _check_margin(self, at, owner, sub_account, market, side, price, size, replacing=None) -> None:
        """Initial margin after the order, counting only collateral fit for new risk at `at`."""
        exposures, env = self._margin_inputs(owner, sub_account, fallback_mark=(market, price), fresh_at=at)
        before = exposures
        if replacing is not None:
            before = with_order(exposures, market, side, -replacing.size)
        after = with_order(before, market, side, size)
        balances = dict(self.accounts[owner].sub(sub_account).balances)
        try:
            check_initial_margin(
                balances=balances, before=exposures, after=after, env=env, market=market, side=side,
                price=price, size=size,
            )
        except Rejected:
            self.blame_unfit_collateral(balances, at)
            raise

    def _reserved_reduce_only(self, market, key: str, side: str) -> int:
        return sum(o.size for o in self._reduce_only_orders(market, key) if o.side == side)

    @staticmethod
    def _reduce_only_orders(market, key: str) -> list:
        """The resting reduce-only orders of one account (the market's reduce-only set is small:
        scanning it is cheaper than listing the account's orders)."""
        if not market.reduce_only_ids:
            return []
        orders = (market.book.order(i) for i in market.reduce_only_ids)
        return [o for o in orders if o is not None and o.account == key]

    def _check_client_order_id(self, key: str, client_order_id: str | None) -> None:
        """Client order ids are unique among an account's live orders (resting or waiting)."""
        if client_order_id is None:
            return
        for market in self.markets.values():
            if (market.book.order_by_client_id(key, client_order_id) is not None
                    or market.triggers.order_by_client_id(key, client_order_id) is not None):
                raise Rejected(RejectReason.DUPLICATE_CLIENT_ORDER_ID, client_order_id)

    @staticmethod
    def _own_order_id(market, key: str, order_id: int | None, client_order_id: str | None) -> int:
        """The id of a live order of this account in this market, else UnknownOrder."""
        if client_order_id is not None and not isinstance(client_order_id, str):
            raise Rejected(RejectReason.INVALID_ORDER, "client order id must be a string")
        if client_order_id is not None:
            resting = market.book.order_by_client_id(key, client_order_id)
            if resting is not None:
                return resting.order_id
            waiting = market.triggers.order_by_client_id(key, client_order_id)
            if waiting is not None:
                return waiting.order.trigger_id
            raise Rejected(RejectReason.UNKNOWN_ORDER, f"no live order with client id {client_order_id!r}")
        if is_int(order_id):
            resting = market.book.order(order_id)
            if resting is not None and resting.account == key:
                return order_id
            waiting = market.triggers.get(order_id)
            if waiting is not None and waiting.order.account == key:
                return order_id
        raise Rejected(RejectReason.UNKNOWN_ORDER, f"no live order {order_id!r} of this account")


def _outcome(order_id: int, size: int, result: PlaceResult, fills: list) -> OrderOutcome:
    if result.resting_size:
        status = "partially_filled" if result.filled_size else "resting"
    elif result.filled_size == size:
        status = "filled"
    else:
        status = "partially_filled" if result.filled_size else "cancelled"
    return OrderOutcome(order_id, status, size, result.filled_size, result.resting_size, result.cancelled_size, fills)
