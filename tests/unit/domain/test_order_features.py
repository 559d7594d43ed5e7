"""Narratives of the order features: time in force, post-only, market orders, self-trade
prevention, client order ids, modify, reduce-only, GTT expiry, dead-man switch, triggers,
market status."""

import pytest

from domain.rejections import Rejected, RejectReason

from .conftest import ALICE, BOB, ONE, PRICE, event_names, save

SOL = "SOL-PERP"


def order(exchange, commands, owner, side, size, price, **extra):
    """Place an order for `owner` on SOL-PERP (sub-account 0)."""
    return exchange.place_order(*commands.next(), owner=owner, sub_account=0, market=SOL, side=side, size=size, price=price, **extra)


def rejection(callable_, *args, **kwargs) -> RejectReason:
    with pytest.raises(Rejected) as rejected:
        callable_(*args, **kwargs)
    return rejected.value.reason


def test_post_only_rejects_or_slides_when_it_would_cross(exchange, commands):
    # Alice offers at $101.
    order(exchange, commands, ALICE, "sell", ONE, 101 * PRICE)
    # Bob's post-only bid at $101 would take: rejected in "reject" mode...
    assert rejection(order, exchange, commands, BOB, "buy", ONE, 101 * PRICE, post_only="reject") is RejectReason.POST_ONLY_WOULD_CROSS
    # ...and slid one tick below the ask in "slide" mode, resting as a maker.
    outcome = order(exchange, commands, BOB, "buy", ONE, 101 * PRICE, post_only="slide")
    assert outcome.status == "resting"
    assert exchange.markets[SOL].book.best_bid() == 101 * PRICE - 1_000


def test_ioc_cancels_its_remainder_and_fok_fills_all_or_nothing(exchange, commands):
    order(exchange, commands, ALICE, "sell", ONE, 101 * PRICE)
    # FOK for 2 SOL with only 1 on offer: rejected, nothing traded.
    assert rejection(order, exchange, commands, BOB, "buy", 2 * ONE, 101 * PRICE, time_in_force="fok") is RejectReason.FOK_NOT_FILLED
    assert exchange.markets[SOL].book.best_ask() == 101 * PRICE
    # IOC for 2 SOL: 1 filled, 1 cancelled, nothing rests.
    outcome = order(exchange, commands, BOB, "buy", 2 * ONE, 101 * PRICE, time_in_force="ioc")
    assert (outcome.status, outcome.filled_size, outcome.cancelled_size) == ("partially_filled", ONE, ONE)
    assert len(exchange.markets[SOL].book) == 0


def test_a_market_order_stops_at_its_worst_price(exchange, commands):
    order(exchange, commands, ALICE, "sell", ONE, 101 * PRICE)
    order(exchange, commands, ALICE, "sell", ONE, 105 * PRICE)
    # Bob buys 2 at market with a worst price of $102: only the $101 level trades.
    outcome = order(exchange, commands, BOB, "buy", 2 * ONE, 102 * PRICE, order_type="market")
    assert (outcome.filled_size, outcome.cancelled_size, outcome.resting_size) == (ONE, ONE, 0)


def test_self_trade_prevention_cancels_the_resting_order_when_asked(exchange, commands):
    resting = order(exchange, commands, ALICE, "sell", ONE, 101 * PRICE)
    save(exchange)
    # Alice's own bid would hit her ask: cancel-resting removes the ask, and the bid rests.
    outcome = order(exchange, commands, ALICE, "buy", ONE, 101 * PRICE, self_trade="cancel_resting")
    events = save(exchange)
    assert outcome.status == "resting"
    assert events[0].stp_cancelled[0]["order_id"] == resting.order_id
    assert exchange.markets[SOL].book.best_ask() is None


def test_client_order_ids_are_unique_among_live_orders(exchange, commands):
    order(exchange, commands, ALICE, "buy", ONE, 99 * PRICE, client_order_id="c1")
    assert rejection(order, exchange, commands, ALICE, "buy", ONE, 98 * PRICE, client_order_id="c1") is RejectReason.DUPLICATE_CLIENT_ORDER_ID
    # Another account may use the same id; once cancelled, Alice may reuse hers.
    order(exchange, commands, BOB, "buy", ONE, 98 * PRICE, client_order_id="c1")
    exchange.cancel_order(*commands.next(), owner=ALICE, sub_account=0, market=SOL, client_order_id="c1")
    order(exchange, commands, ALICE, "buy", ONE, 97 * PRICE, client_order_id="c1")


def test_modify_keeps_priority_only_when_shrinking_at_the_same_price(exchange, commands):
    first = order(exchange, commands, ALICE, "buy", 2 * ONE, 99 * PRICE)
    second = order(exchange, commands, BOB, "buy", ONE, 99 * PRICE)
    save(exchange)
    # Shrinking Alice's bid keeps her first in line.
    exchange.modify_order(*commands.next(), owner=ALICE, sub_account=0, market=SOL, order_id=first.order_id, new_price=99 * PRICE, new_size=ONE)
    events = save(exchange)
    assert event_names(events) == ["Market.OrderModified"] and events[0].kept_priority
    # Re-pricing to $100 and back loses priority to Bob.
    exchange.modify_order(*commands.next(), owner=ALICE, sub_account=0, market=SOL, order_id=first.order_id, new_price=100 * PRICE, new_size=ONE)
    exchange.modify_order(*commands.next(), owner=ALICE, sub_account=0, market=SOL, order_id=first.order_id, new_price=99 * PRICE, new_size=ONE)
    queue = sorted(exchange.markets[SOL].book.orders_of(f"{ALICE}/0") + exchange.markets[SOL].book.orders_of(f"{BOB}/0"), key=lambda o: o.sequence)
    assert [o.order_id for o in queue] == [second.order_id, first.order_id]


def test_a_modify_that_crosses_trades_and_settles(exchange, commands):
    ask = order(exchange, commands, ALICE, "sell", ONE, 105 * PRICE)
    order(exchange, commands, BOB, "buy", ONE, 100 * PRICE)
    save(exchange)
    exchange.modify_order(*commands.next(), owner=ALICE, sub_account=0, market=SOL, order_id=ask.order_id, new_price=100 * PRICE, new_size=ONE)
    assert sorted(event_names(save(exchange))) == ["Account.TradeSettled", "Account.TradeSettled", "Market.OrderModified"]
    assert exchange.accounts[ALICE].sub(0).position(SOL).base == -ONE


def test_reduce_only_is_capped_to_the_position_and_trimmed_after_fills(exchange, commands):
    # Bob is long 1 SOL.
    order(exchange, commands, ALICE, "sell", ONE, 100 * PRICE)
    order(exchange, commands, BOB, "buy", ONE, 100 * PRICE)
    # A reduce-only buy would increase his exposure: rejected.
    assert rejection(order, exchange, commands, BOB, "buy", ONE, 99 * PRICE, reduce_only=True) is RejectReason.REDUCE_ONLY_WOULD_INCREASE
    # A reduce-only sell of 3 is capped to his 1 SOL.
    capped = order(exchange, commands, BOB, "sell", 3 * ONE, 110 * PRICE, reduce_only=True)
    assert capped.size == ONE
    # He then closes the position with a normal sell: the reduce-only order would now open a
    # short, so it is cancelled in the same command.
    order(exchange, commands, ALICE, "buy", ONE, 100 * PRICE)
    save(exchange)
    order(exchange, commands, BOB, "sell", ONE, 100 * PRICE)
    events = save(exchange)
    assert "Market.OrdersCancelled" in event_names(events)
    assert [e for e in events if type(e).__name__ == "OrdersCancelled"][0].reason == "ReduceOnlyCancelled"
    assert exchange.open_orders(BOB, 0) == []


def test_gtt_orders_expire_in_the_time_sweep(exchange, commands):
    at, _ = commands.next()
    order(exchange, commands, ALICE, "buy", ONE, 99 * PRICE, time_in_force="gtt", expires_at=at + 10**9)
    assert rejection(order, exchange, commands, ALICE, "buy", ONE, 99 * PRICE, time_in_force="gtt", expires_at=at) is RejectReason.ALREADY_EXPIRED
    save(exchange)
    # The sweep before expiry removes nothing; after expiry it removes the order.
    assert exchange.expire(at + 10**9 - 1, 100).expired_order_ids == []
    sweep = exchange.expire(at + 10**9, 101)
    assert len(sweep.expired_order_ids) == 1
    assert event_names(save(exchange)) == ["Market.OrdersExpired"]


def test_the_dead_man_switch_cancels_everything_unless_renewed(exchange, commands):
    at, seq = commands.next()
    order(exchange, commands, ALICE, "buy", ONE, 99 * PRICE)
    order(exchange, commands, ALICE, "sell", ONE, 101 * PRICE)
    exchange.set_dead_man_switch(*commands.next(), owner=ALICE, fires_at=at + 5 * 10**9)
    # Renewed before it fires: nothing happens at the first deadline.
    exchange.set_dead_man_switch(*commands.next(), owner=ALICE, fires_at=at + 10 * 10**9)
    save(exchange)
    assert exchange.expire(at + 6 * 10**9, seq + 100).dead_man_owners == []
    # At the renewed deadline every order of Alice is cancelled and the switch disarms.
    sweep = exchange.expire(at + 10 * 10**9, seq + 101)
    assert sweep.dead_man_owners == [ALICE]
    assert sorted(event_names(save(exchange))) == ["Account.DeadManSwitchFired", "Market.OrdersCancelled"]
    assert exchange.open_orders(ALICE, 0) == [] and exchange.accounts[ALICE].dead_man_fires_at is None


def test_trigger_orders_wait_off_book_and_can_be_cancelled(exchange, commands):
    outcome = order(exchange, commands, BOB, "sell", ONE, None, order_type="stop_market", trigger_price=90 * PRICE, client_order_id="stop")
    assert outcome.status == "waiting_trigger"
    assert len(exchange.markets[SOL].book) == 0 and len(exchange.markets[SOL].triggers) == 1
    assert event_names(save(exchange)) == ["Market.TriggerOrderPlaced"]
    exchange.cancel_order(*commands.next(), owner=BOB, sub_account=0, market=SOL, client_order_id="stop")
    assert event_names(save(exchange)) == ["Market.TriggerOrdersCancelled"]
    assert len(exchange.markets[SOL].triggers) == 0


def test_paused_and_reduce_only_markets(exchange, commands):
    order(exchange, commands, ALICE, "sell", ONE, 100 * PRICE)
    order(exchange, commands, BOB, "buy", ONE, 100 * PRICE)
    resting = order(exchange, commands, BOB, "buy", ONE, 90 * PRICE)
    exchange.set_market_status(*commands.next(), symbol=SOL, status="paused")
    assert rejection(order, exchange, commands, BOB, "sell", ONE, 100 * PRICE) is RejectReason.MARKET_PAUSED
    # Cancels still work while paused.
    exchange.cancel_order(*commands.next(), owner=BOB, sub_account=0, market=SOL, order_id=resting.order_id)
    exchange.set_market_status(*commands.next(), symbol=SOL, status="reduce_only")
    assert rejection(order, exchange, commands, BOB, "buy", ONE, 100 * PRICE) is RejectReason.MARKET_REDUCE_ONLY
    assert order(exchange, commands, BOB, "sell", ONE, 120 * PRICE, reduce_only=True).status == "resting"


def test_open_orders_per_market_are_bounded(exchange, commands):
    from domain.order_checks import MAX_OPEN_ORDERS_PER_MARKET

    for i in range(MAX_OPEN_ORDERS_PER_MARKET):
        order(exchange, commands, ALICE, "buy", 10_000_000, 50 * PRICE + i * 1_000)
    assert rejection(order, exchange, commands, ALICE, "buy", 10_000_000, 40 * PRICE) is RejectReason.TOO_MANY_OPEN_ORDERS
    # Bob is not affected.
    order(exchange, commands, BOB, "buy", 10_000_000, 40 * PRICE)
