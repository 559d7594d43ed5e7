"""Safe mark bands let the liquidation sweep skip sub-accounts, never change what it finds
(domain.mark_bands)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.mark_bands import MarkBands, safe_move
from domain.margin import Exposure, MarginEnv, equity, maintenance_requirement
from domain.market_params import MarketParams
from tests.unit.domain.conftest import SOL_MARKET

from .world import ALICE, BOB, CAROL, DAVE, LIQUIDATOR, ONE, PRICE, SECOND, USDC, World

MARKET = "SOL-PERP"


def params_with(mmr: int) -> MarketParams:
    """A market whose only figure that matters here is its maintenance ratio."""
    return MarketParams(base_asset="X", tick_size=1, lot_size=1, min_size=1, max_leverage=1,
                        initial_margin_bps=10_000, maintenance_margin_bps=mmr, maker_fee_bps=0, taker_fee_bps=0)


def env_at(mark: int, mmr: int, usdc_price: int = PRICE) -> MarginEnv:
    return MarginEnv(params={MARKET: params_with(mmr)}, marks={MARKET: mark}, prices={"USDC": usdc_price})


def slack_at(mark: int, base: int, entry: int, usdc: int, mmr: int, usdc_price: int = PRICE) -> int:
    """Maintenance equity minus requirement of a one-position, USDC-only sub-account."""
    env, exposures = env_at(mark, mmr, usdc_price), {MARKET: Exposure(base, entry)}
    return equity({"USDC": usdc}, exposures, env, maintenance=True) - maintenance_requirement(exposures, env)


@settings(max_examples=500, deadline=None)
@given(size=st.integers(1, 10**13), long=st.booleans(), entry_price=st.integers(1, 10**9),
       usdc=st.integers(-10**12, 10**13), mmr=st.integers(0, 9_999), mark=st.integers(0, 10**9),
       basis=st.integers(900_000, 1_100_000), usdc_then=st.floats(-1, 1), usdc_now=st.floats(-1, 1),
       where=st.floats(-1, 1))
def test_inside_its_band_a_healthy_sub_account_stays_healthy(size, long, entry_price, usdc, mmr, mark, basis,
                                                             usdc_then, usdc_now, where):
    # The band is made at some USDC price within the tolerance of the basis, and holds at any
    # mark inside it with the USDC price anywhere within the tolerance too.
    bands = MarkBands()
    bands.keep_if_still({}, basis)
    tolerance = basis // 200
    base = size if long else -size
    entry = entry_price * size // 10**9
    slack = slack_at(mark, base, entry, usdc, mmr, basis + int(tolerance * usdc_then))
    market, low, high = bands.band({"USDC": usdc}, {MARKET: Exposure(base, entry)}, env_at(mark, mmr), slack)
    if market is None:
        return
    assert low <= mark <= high
    for moved in (low, high, mark + int((high - mark) * where)):
        if moved >= 0:
            assert slack_at(moved, base, entry, usdc, mmr, basis + int(tolerance * usdc_now)) >= 0


def two_market_env(marks: dict[str, int], mmrs: dict[str, int]) -> MarginEnv:
    return MarginEnv(params={market: params_with(mmrs[market]) for market in marks}, marks=marks, prices={})


POSITION = st.tuples(st.integers(-10**12, 10**12).filter(bool), st.integers(1, 10**8), st.integers(0, 9_999),
                     st.integers(0, 10**8))  # base, entry price, mmr, mark


@settings(max_examples=400, deadline=None)
@given(first=POSITION, second=POSITION, usdc=st.integers(-10**10, 10**12),
       where=st.tuples(st.floats(-1, 1), st.floats(-1, 1)))
def test_with_two_positions_every_mark_inside_its_band_keeps_the_account_healthy(first, second, usdc, where):
    markets = ("A-PERP", "B-PERP")
    exposures = {m: Exposure(base, abs(base) * price // 10**9) for m, (base, price, _, _) in zip(markets, (first, second))}
    mmrs = {m: mmr for m, (_, _, mmr, _) in zip(markets, (first, second))}
    marks = {m: mark for m, (_, _, _, mark) in zip(markets, (first, second))}

    def slack(at_marks: dict[str, int]) -> int:
        env = two_market_env(at_marks, mmrs)
        return equity({"USDC": usdc}, exposures, env, maintenance=True) - maintenance_requirement(exposures, env)

    bands = MarkBands()
    bands.keep_if_still({}, PRICE)
    now = slack(marks)
    if now < 0:
        return
    kind, per_market, _ = bands.band({"USDC": usdc}, exposures, two_market_env(marks, mmrs), now)
    if kind is None:  # too close to maintenance for a band: evaluated on every sweep
        return
    (_, low_a, high_a), (_, low_b, high_b) = per_market
    inside = [(a, b) for a in (low_a, high_a) for b in (low_b, high_b)]  # every corner
    inside.append((marks["A-PERP"] + int((high_a - marks["A-PERP"]) * where[0]),
                   marks["B-PERP"] + int((high_b - marks["B-PERP"]) * where[1])))
    for a, b in inside:
        if a >= 0 and b >= 0:
            assert slack({"A-PERP": a, "B-PERP": b}) >= 0


def test_a_usdc_price_beyond_the_tolerance_drops_every_band():
    bands = MarkBands()
    bands.keep_if_still({}, PRICE)
    bands.by_owner["someone"] = (object(), 1, MARKET, 0, 1)
    bands.keep_if_still({}, PRICE + PRICE // 200)
    assert bands.by_owner
    bands.keep_if_still({}, PRICE + PRICE // 200 + 1)
    assert not bands.by_owner


def test_a_well_margined_position_gets_a_useful_band():
    # 5x long 10 SOL at $100 with $200: $200 of equity over a $30 requirement (3%). The price
    # may fall ~$17.5 before maintenance; the band covers most of that.
    slack = slack_at(100 * PRICE, 10 * ONE, 1_000 * USDC, 200 * USDC, 300)
    move = safe_move(slack, 10 * ONE, 300)
    assert 16 * PRICE < move < 17 * PRICE


def full_evaluation(world: World, at: int) -> list:
    """What the sweep finds when no band is known: every sub-account evaluated exactly."""
    kept, world.exchange._mark_bands = world.exchange._mark_bands, MarkBands()  # noqa: SLF001
    try:
        return world.exchange.liquidatable(at)
    finally:
        world.exchange._mark_bands = kept  # noqa: SLF001


TRADERS = [BOB, CAROL, DAVE]
MARKETS = ["SOL-PERP", "BTC-PERP"]  # a trader may hold positions in both
BASE = {"SOL-PERP": "SOL", "BTC-PERP": "BTC"}
STEPS = st.lists(st.one_of(
    st.tuples(st.just("price"), st.sampled_from(MARKETS), st.integers(-20, 12)),  # % move of an oracle
    st.tuples(st.just("trade"), st.sampled_from(MARKETS), st.integers(0, 2), st.integers(-20, 20)),  # vs Alice
    st.tuples(st.just("deposit"), st.integers(0, 2), st.integers(1, 500)),
    st.tuples(st.just("sol_collateral"), st.integers(0, 2), st.integers(1, 5)),
    st.tuples(st.just("withdraw"), st.integers(0, 2), st.integers(1, 500)),
    st.tuples(st.just("maintenance"), st.integers(100, 450)),  # bps: the market's parameters change
    st.tuples(st.just("usdc_price"), st.one_of(st.integers(995, 1005), st.integers(970, 1030))),  # 1/1000 $
    st.tuples(st.just("sweep"),),
), min_size=5, max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(collateral=st.lists(st.integers(50, 2_000), min_size=3, max_size=3),
       leverage=st.lists(st.integers(-18, 18).filter(bool), min_size=3, max_size=3), steps=STEPS)
def test_the_sweep_finds_what_a_full_evaluation_finds(collateral, leverage, steps):
    world = World(insurance=1_000_000 * USDC)
    world.do("create_market", **(SOL_MARKET | {"symbol": "BTC-PERP", "base_asset": "BTC"}))
    world.do("set_oracle_price", symbol="BTC", price=100 * PRICE)
    world.trader(ALICE, 1_000_000)
    world.trader(LIQUIDATOR, 2_000_000)
    for owner, usdc, times in zip(TRADERS, collateral, leverage):
        world.trader(owner, usdc)
        trade(world, owner, usdc * times // 200, "SOL-PERP")
        if usdc % 3:  # two traders in three hold positions in both markets
            trade(world, owner, usdc * times // 200 * (1 if usdc % 2 else -1), "BTC-PERP")
    for step in steps:
        for symbol in ("SOL", "BTC", "USDC"):  # fresh prices: a stale one would refuse the trades
            if symbol in world.exchange.oracles:
                world.do("set_oracle_price", symbol=symbol, price=world.exchange.oracles[symbol].price)
        kind, *values = step
        if kind == "price":
            price = world.exchange.oracles[BASE[values[0]]].price
            world.do("set_oracle_price", symbol=BASE[values[0]],
                     price=max(PRICE, price * (100 + values[1]) // 100 // 1_000 * 1_000))
        elif kind == "trade":
            trade(world, TRADERS[values[1]], values[2], values[0])
        elif kind == "deposit":
            world.attempt("deposit", owner=TRADERS[values[0]], sub_account=0, asset="USDC", amount=values[1] * USDC)
        elif kind == "sol_collateral":
            world.attempt("deposit", owner=TRADERS[values[0]], sub_account=0, asset="SOL", amount=values[1] * ONE)
        elif kind == "withdraw":
            world.attempt("request_withdrawal", owner=TRADERS[values[0]], sub_account=0, asset="USDC",
                          amount=values[1] * USDC, destination=TRADERS[values[0]])
        elif kind == "maintenance":
            world.attempt("change_market", symbol="SOL-PERP", changes={"maintenance_margin_bps": values[0]})
        elif kind == "usdc_price":
            world.attempt("set_oracle_price", symbol="USDC", price=values[0] * PRICE // 1000)
        else:
            world.attempt("risk_sweep", liquidator=f"{LIQUIDATOR}/0")
        at = world.commands.at + SECOND
        assert world.exchange.liquidatable(at) == full_evaluation(world, at)


def trade(world: World, owner: str, lots: int, market: str = "SOL-PERP") -> None:
    """`owner` buys (lots > 0) or sells `lots` from/to Alice at the oracle price."""
    if lots == 0:
        return
    price = world.exchange.oracles[BASE[market]].price
    world.do("set_oracle_price", symbol=BASE[market], price=price)  # fresh, or the orders are refused
    price = price // 1_000 * 1_000
    side, other = ("buy", "sell") if lots > 0 else ("sell", "buy")
    world.attempt("place_order", owner=ALICE, sub_account=0, market=market, side=other, size=abs(lots) * ONE,
                  price=price)
    world.attempt("place_order", owner=owner, sub_account=0, market=market, side=side, size=abs(lots) * ONE,
                  price=price)
    world.attempt("cancel_all", owner=ALICE)


def just_above_maintenance() -> World:
    """Bob 10x long, the SOL price set to the last 10 cents before his liquidation (his band
    made there by a sweep)."""
    world = World()
    world.trader(ALICE, 1_000_000)
    world.trader(BOB, 100)
    trade(world, BOB, 10)
    price = 100 * PRICE
    while True:
        world.price(price - PRICE // 10)
        if world.exchange.liquidatable(world.commands.at):
            world.price(price)
            assert world.exchange.liquidatable(world.commands.at) == []
            return world
        price -= PRICE // 10


def test_a_higher_maintenance_ratio_drops_every_band():
    world = just_above_maintenance()
    world.do("change_market", symbol="SOL-PERP", changes={"maintenance_margin_bps": 450})
    assert [key for _, key in world.exchange.liquidatable(world.commands.at)] == [f"{BOB}/0"]


def test_a_lower_usdc_price_drops_every_band():
    world = just_above_maintenance()
    world.do("set_oracle_price", symbol="USDC", price=PRICE * 98 // 100)
    assert [key for _, key in world.exchange.liquidatable(world.commands.at)] == [f"{BOB}/0"]


def test_any_event_on_the_account_drops_its_band():
    # Funding is paid without a margin check: a payment can take Bob under maintenance at an
    # unchanged mark, so his band (made by the last sweep) must not be used after it.
    world = just_above_maintenance()
    at, seq = world.commands.next()
    world.exchange.accounts[BOB].pay_funding(at, seq, sub_account=0, market="SOL-PERP", rate=0, amount=-5 * USDC,
                                             position_size=10 * ONE, period=0, index_price=PRICE)
    assert [key for _, key in world.exchange.liquidatable(at)] == [f"{BOB}/0"]


def test_bands_prepared_at_start_up_serve_the_first_sweep():
    # Given an exchange rebuilt with Bob just above maintenance and another trader far from it
    world = just_above_maintenance()
    world.trader(CAROL, 1_000)
    trade(world, CAROL, 2)
    world.exchange._mark_bands = MarkBands()  # noqa: SLF001 - as after a rebuild
    world.refresh()

    # When the engine prepares the sweep, then the price drops 10 cents
    world.exchange.prepare_liquidation_sweep()
    prepared = dict(world.exchange._mark_bands.by_owner)  # noqa: SLF001
    world.price(world.exchange.oracles["SOL"].price - PRICE // 10)
    at = world.commands.at

    # Then the first sweep finds Bob, as a full evaluation does, and Carol's band spared her
    assert [key for _, key in world.exchange.liquidatable(at)] == [f"{BOB}/0"] == \
        [key for _, key in full_evaluation(world, at)]
    assert world.exchange._mark_bands.by_owner[CAROL] is prepared[CAROL]  # noqa: SLF001
