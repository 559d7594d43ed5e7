"""Hourly funding over several periods (narratives): who pays whom, the clamp, a missed period
settled once and never twice, the rounding to the insurance fund."""

from domain.funding import FUNDING_PERIOD, payment

from .world import ALICE, BOB, CAROL, HOUR, LIQUIDATOR, ONE, PRICE, SECOND, World


def book_above_the_oracle(world: World, bid: int, ask: int) -> None:
    """Liquidity providers (the liquidator's account) quote above the oracle: the mark follows."""
    world.refresh()
    world.do("place_order", owner=LIQUIDATOR, sub_account=0, market="SOL-PERP", side="buy", size=ONE, price=bid)
    world.do("place_order", owner=LIQUIDATOR, sub_account=0, market="SOL-PERP", side="sell", size=ONE, price=ask)


def positions() -> World:
    world = World()
    for owner in (ALICE, BOB, CAROL, LIQUIDATOR):
        world.trader(owner, 10_000)
    world.trade(ALICE, BOB, 3 * ONE, 100 * PRICE)  # Alice long 3
    world.trade(CAROL, BOB, ONE, 100 * PRICE)  # Carol long 1
    return world  # Bob short 4


def sample_hour(world: World, price: int) -> None:
    """An hour of oracle prices every 5 minutes (each moves the mark TWAP)."""
    for _ in range(12):
        world.wait(300 * SECOND)
        world.price(price)


def test_longs_pay_shorts_when_the_mark_is_above_the_oracle_over_three_hours():
    world = positions()
    book_above_the_oracle(world, 101 * PRICE, 102 * PRICE)  # mark = median(100, 101, 102) = 101
    start = {owner: world.usdc(owner) for owner in (ALICE, BOB, CAROL)}
    for hour in range(3):
        sample_hour(world, 100 * PRICE)
        world.do("settle_funding")
        update = world.named("FundingRateUpdated")[-1]
        assert update.periods == 1 and update.rate > 0  # mark TWAP above the oracle TWAP
        paid = {e.position_size: e.amount for e in world.named("FundingPaid")[-3:]}
        # Each payment is -base x index x rate, rounded down; payers pay, receivers receive.
        for base, amount in paid.items():
            assert amount == payment(base, update.index_price, update.rate)
        assert paid[3 * ONE] < 0 and paid[ONE] < 0 and paid[-4 * ONE] > 0
        # Zero-sum apart from the rounding, which the insurance fund receives.
        assert sum(paid.values()) + update.rounding_to_insurance == 0
        assert 0 <= update.rounding_to_insurance < update.payments
    assert world.usdc(ALICE) < start[ALICE] and world.usdc(BOB) > start[BOB]
    # The TWAP premium grows as the mark TWAP converges towards 101.
    rates = [e.rate for e in world.named("FundingRateUpdated")]
    assert rates[0] < rates[1] < rates[2] <= world.named("FundingRateUpdated")[-1].clamp


def test_the_rate_is_clamped_per_market():
    world = World(maintenance_margin_bps=100, initial_margin_bps=200, max_leverage=50)  # clamp 0.125%/h
    for owner in (ALICE, BOB, LIQUIDATOR):
        world.trader(owner, 10_000)
    world.trade(ALICE, BOB, ONE, 100 * PRICE)
    book_above_the_oracle(world, 110 * PRICE, 111 * PRICE)  # mark bounded to oracle + 5%
    for _ in range(4):
        sample_hour(world, 100 * PRICE)
    world.do("settle_funding")
    update = world.named("FundingRateUpdated")[-1]
    assert update.mark_price <= 105 * PRICE
    assert update.premium // 24 > update.clamp and update.rate == update.clamp * update.periods


def test_a_missed_period_is_settled_once_and_never_twice():
    world = positions()
    book_above_the_oracle(world, 101 * PRICE, 102 * PRICE)
    sample_hour(world, 100 * PRICE)
    world.do("settle_funding")
    first = world.named("FundingRateUpdated")[-1]
    # The keeper is down for three hours, then comes back: the three hours are settled together.
    world.wait(3 * HOUR)
    world.price(100 * PRICE)
    world.do("settle_funding", market="SOL-PERP")
    caught_up = world.named("FundingRateUpdated")[-1]
    assert caught_up.periods == 3 and caught_up.period == first.period + 3
    # A second settlement in the same hour is refused, typed; the all-markets form skips it.
    assert world.attempt("settle_funding", market="SOL-PERP") == "FundingAlreadySettled"
    count = len(world.named("FundingPaid"))
    world.do("settle_funding")
    assert len(world.named("FundingPaid")) == count
    assert world.exchange.markets["SOL-PERP"].last_funding_period == world.commands.at // FUNDING_PERIOD


def test_an_account_without_a_position_never_pays_funding():
    world = positions()
    world.trader("Pat11111111111111111111111111111111111111111"[:44], 1_000)
    book_above_the_oracle(world, 101 * PRICE, 102 * PRICE)
    sample_hour(world, 100 * PRICE)
    world.do("settle_funding")
    owners = {e.originator_id for e in world.named("FundingPaid")}
    assert world.exchange.accounts["Pat11111111111111111111111111111111111111111"[:44]].id not in owners
