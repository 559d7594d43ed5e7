"""Trigger orders fired by the mark (narratives): stops, take-profits and trailing stops, in
deterministic order, margin-checked like new orders."""

from .world import ALICE, BOB, CAROL, LIQUIDATOR, ONE, PRICE, World


def market_with_bids() -> World:
    world = World()
    for owner in (ALICE, BOB, CAROL, LIQUIDATOR):
        world.trader(owner, 10_000)
    world.trade(ALICE, BOB, 2 * ONE, 100 * PRICE)   # Alice long 2
    world.trade(CAROL, BOB, 2 * ONE, 100 * PRICE)   # Carol long 2
    # Liquidity below the market, so fired sells fill.
    world.do("place_order", owner=LIQUIDATOR, sub_account=0, market="SOL-PERP", side="buy", size=10 * ONE, price=94 * PRICE)
    return world


def test_stops_fire_when_the_mark_falls_through_them_lowest_trigger_last():
    world = market_with_bids()
    # Two stop-losses: Alice at 95, Carol at 96 (Carol's is hit first on the way down).
    world.do("place_order", owner=ALICE, sub_account=0, market="SOL-PERP", side="sell", size=2 * ONE, order_type="stop_market", trigger_price=95 * PRICE, reduce_only=True)
    world.do("place_order", owner=CAROL, sub_account=0, market="SOL-PERP", side="sell", size=2 * ONE, order_type="stop_market", trigger_price=96 * PRICE, reduce_only=True)
    world.price(97 * PRICE)
    assert not world.named("TriggersEvaluated")
    world.price(95 * PRICE)
    fired = world.named("TriggersEvaluated")[-1]
    assert fired.price == 95 * PRICE
    # Both fire; order by (trigger price, arrival): Alice's 95 before Carol's 96.
    alice_stop, carol_stop = [e.order["order_id"] for e in world.named("OrderPlaced")[-2:]]
    assert fired.fired == [alice_stop, carol_stop]
    # They filled against the bids at 94 (within the protective band of the mark).
    assert world.base(ALICE) == 0 and world.base(CAROL) == 0


def test_a_take_profit_fires_on_a_rise_and_a_trailing_stop_follows_the_high():
    world = market_with_bids()
    world.do("place_order", owner=LIQUIDATOR, sub_account=0, market="SOL-PERP", side="buy", size=10 * ONE, price=104 * PRICE)
    world.do("place_order", owner=ALICE, sub_account=0, market="SOL-PERP", side="sell", size=ONE, order_type="take_profit_market", trigger_price=105 * PRICE, reduce_only=True)
    world.do("place_order", owner=CAROL, sub_account=0, market="SOL-PERP", side="sell", size=ONE, order_type="trailing_stop", trail_amount=2 * PRICE, reduce_only=True)
    world.price(103 * PRICE)  # the trail follows the high: trigger now 101
    world.price(105 * PRICE)  # take-profit fires; the trail moves to 103
    assert world.base(ALICE) == ONE
    world.price(104 * PRICE)
    assert world.base(CAROL) == 2 * ONE  # 104 > 103: not yet
    world.price(103 * PRICE)
    assert world.base(CAROL) == ONE  # fired at 103


def test_a_fired_order_the_account_cannot_margin_is_refused_and_recorded():
    world = market_with_bids()
    # Bob places a huge stop-buy (not reduce-only): when it fires, it fails the margin check.
    world.do("place_order", owner=BOB, sub_account=0, market="SOL-PERP", side="buy", size=2_000 * ONE, order_type="stop_market", trigger_price=101 * PRICE)
    world.price(101 * PRICE)
    refused = world.named("CommandRejected")[-1]
    assert (refused.command, refused.reason) == ("FireTrigger", "InsufficientMargin")
    assert len(world.exchange.markets["SOL-PERP"].triggers) == 0  # it fired (and was refused): gone


def test_triggers_do_not_fire_on_a_flagged_price():
    world = market_with_bids()
    world.do("place_order", owner=ALICE, sub_account=0, market="SOL-PERP", side="sell", size=ONE, order_type="stop_market", trigger_price=99 * PRICE, reduce_only=True)
    world.price(90 * PRICE, confidence=5 * PRICE)  # refused: too wide
    assert not world.named("TriggersEvaluated") and world.base(ALICE) == 2 * ONE
