"""Laws of the risk engine over random crashes, rallies, funding hours and sweeps (hypothesis).

- Money is conserved through liquidations, bankruptcies, ADL and funding (the domain's identity:
  balances + fee pools + insurance fund - realized PnL == deposits - withdrawals + contributions).
- Funding sums to zero across positions apart from the stated rounding, which the insurance fund
  receives (0 <= rounding < number of positions).
- No healthy account is liquidated: every liquidated account was liquidatable just before, and
  every `Liquidated` event shows maintenance equity below the requirement; after its liquidation
  an account is no longer liquidatable.
- A bystander (no position) never pays.
- Replay determinism: the saved events rebuild the same state hash; re-running the same commands
  gives the same events.
"""

from eventsourcing.application import Application
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.exchange import Exchange

from tests.unit.domain.test_properties import check_money_conserved

from .world import ALICE, BOB, CAROL, DAVE, HOUR, LIQUIDATOR, ONE, PAT, PRICE, SECOND, USDC, World

LONGS = [BOB, CAROL, DAVE]
SCENARIO = st.fixed_dictionaries({
    "collateral": st.lists(st.integers(100, 2_000), min_size=3, max_size=3),
    "leverage": st.lists(st.integers(2, 18), min_size=3, max_size=3),
    "insurance": st.integers(0, 2_000),
    "steps": st.lists(st.one_of(
        st.tuples(st.just("price"), st.one_of(st.integers(-3, 2), st.integers(-15, 8))),  # % move of the oracle
        st.tuples(st.just("sweep"), st.just(0)),
        st.tuples(st.just("funding"), st.integers(1, 3)),    # hours passing first
        st.tuples(st.just("quote"), st.integers(-3, 3)),     # the maker re-quotes around the oracle
    ), min_size=5, max_size=25),
})
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def play(scenario: dict, app: Application | None = None) -> World:
    """Build the positions, then run the steps; checks the laws after every command."""
    world = World(insurance=scenario["insurance"] * USDC)
    world.trader(ALICE, 200_000)
    world.trader(LIQUIDATOR, 2_000_000)
    world.trader(PAT, 1_000)
    for owner, usdc, leverage in zip(LONGS, scenario["collateral"], scenario["leverage"]):
        world.trader(owner, usdc)
        size = usdc * leverage // 100
        world.refresh()
        world.attempt("place_order", owner=ALICE, sub_account=0, market="SOL-PERP", side="sell", size=size * ONE, price=100 * PRICE)
        world.attempt("place_order", owner=owner, sub_account=0, market="SOL-PERP", side="buy", size=size * ONE, price=100 * PRICE)
        world.attempt("cancel_all", owner=ALICE)
    save(world, app)
    pat = world.usdc(PAT)
    for kind, value in scenario["steps"]:
        price = world.exchange.oracles["SOL"].price
        if kind == "price":
            world.price(max(PRICE, price * (100 + value) // 100 // 1_000 * 1_000))
        elif kind == "sweep":
            world.refresh()
            before = {key for _, key in world.exchange.liquidatable(world.commands.at + SECOND)}
            done = world.do("risk_sweep", liquidator=f"{LIQUIDATOR}/0")["liquidated"]
            assert set(done) <= before
            # Partial liquidations leave the account above maintenance (or it had nothing left).
            after = {key for _, key in world.exchange.liquidatable(world.commands.at)}
            assert not set(done) & after
        elif kind == "funding":
            world.wait(value * HOUR)
            world.refresh()
            mark = len(world.events)
            world.attempt("settle_funding")
            check_funding(world.since(mark))
        else:
            world.refresh()
            world.attempt("cancel_all", owner=ALICE)
            tick = price // 1_000 * 1_000
            world.attempt("place_order", owner=ALICE, sub_account=0, market="SOL-PERP", side="buy", size=ONE, price=tick + (value - 1) * PRICE // 100)
            world.attempt("place_order", owner=ALICE, sub_account=0, market="SOL-PERP", side="sell", size=ONE, price=tick + (value + 1) * PRICE // 100)
        save(world, app)
        check_money_conserved(world.exchange)
        assert world.usdc(PAT) == pat
    for liquidated in world.named("Liquidated"):
        assert liquidated.collateral_value < liquidated.maintenance_margin
    return world


def save(world: World, app: Application | None) -> None:
    if app is not None:
        app.save(*world.pending)
        world.pending.clear()


def check_funding(events: list) -> None:
    paid = [e.amount for e in events if type(e).__name__ == "FundingPaid"]
    for update in (e for e in events if type(e).__name__ == "FundingRateUpdated"):
        assert sum(paid) + update.rounding_to_insurance == 0
        assert 0 <= update.rounding_to_insurance <= max(0, update.payments)
        assert abs(update.rate) <= update.clamp * update.periods


@SETTINGS
@given(SCENARIO)
def test_money_funding_and_liquidation_laws(scenario):
    play(scenario)


@SETTINGS
@given(SCENARIO)
def test_replay_and_rerun_give_the_same_state(scenario):
    app = Application()
    world = play(scenario, app)
    reloaded = Exchange.from_aggregates(app.repository.get(a.id) for a in world.exchange.all_aggregates())
    assert reloaded.state_hash() == world.exchange.state_hash()
    again = play(scenario)
    assert again.events == world.events
