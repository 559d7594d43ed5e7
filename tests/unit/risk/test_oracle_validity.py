"""Every oracle validity state, what it forbids, and the circuit breaker (narratives)."""

from domain.oracle_validity import to_price_scale

from .world import ALICE, BOB, LIQUIDATOR, ONE, PRICE, SECOND, World


def opened() -> World:
    world = World()
    world.trader(ALICE, 10_000)
    world.trader(BOB, 10_000)
    world.trader(LIQUIDATOR, 100_000)
    return world


def test_a_pyth_price_is_converted_to_our_scale_conservatively():
    # $123.456789012 at exponent -9: the price rounds down, its confidence up.
    assert to_price_scale(123_456_789_012, -9, round_up=False) == 123_456_789
    assert to_price_scale(1_500, -9, round_up=True) == 2
    assert to_price_scale(42, 2, round_up=False) == 4_200_000_000
    world = World()
    world.do("set_oracle_price", symbol="SOL", price=10_123_000_000, exponent=-8, confidence=5_000_000)
    oracle = world.exchange.oracles["SOL"]
    assert (oracle.price, oracle.confidence, oracle.exponent) == (101_230_000, 50_000, -8)
    assert world.named("PriceSet")[-1].validity == "Valid"


def test_stale_for_trading_refuses_new_risk_but_allows_reducing_it():
    world = opened()
    world.trade(ALICE, BOB, ONE, 100 * PRICE)  # Alice long 1, Bob short 1
    world.wait(11 * SECOND)  # no price for 11 s
    assert world.exchange.oracle_validity("SOL-PERP", world.commands.at + SECOND) == "StaleForTrading"
    # A risk-increasing order is refused with a typed reason...
    assert world.attempt("place_order", owner=ALICE, sub_account=0, market="SOL-PERP", side="buy", size=ONE, price=99 * PRICE) == "OraclePriceInvalid"
    # ...a risk-reducing one is accepted (it rests: nobody bids).
    assert world.attempt("place_order", owner=ALICE, sub_account=0, market="SOL-PERP", side="sell", size=ONE, price=101 * PRICE) is None
    # The sweep records the state change as an event, with its age and since when.
    world.do("risk_sweep")
    change = world.named("ValidityChanged")[-1]
    assert (change.validity, change.previous) == ("StaleForTrading", "Valid") and change.age > 10 * SECOND
    # Liquidations still work on a price stale for trading: Bob is healthy, so refused as such.
    assert world.attempt("liquidate", owner=BOB, sub_account=0, liquidator_owner=LIQUIDATOR) == "NotLiquidatable"


def test_stale_for_margin_forbids_liquidation_and_funding_and_trips_the_breaker():
    world = opened()
    world.trade(ALICE, BOB, ONE, 100 * PRICE)
    world.wait(61 * SECOND)
    assert world.attempt("liquidate", owner=BOB, sub_account=0, liquidator_owner=LIQUIDATOR) == "OraclePriceInvalid"
    world.wait(3600 * SECOND)
    assert world.attempt("settle_funding", market="SOL-PERP") == "OraclePriceInvalid"
    # Invalid for more than 30 s past the margin staleness: the sweep pauses the market.
    world.do("risk_sweep")
    tripped = world.named("CircuitBreakerTripped")[-1]
    assert tripped.oracle_validity == "StaleForMargin" and tripped.prior_status == "active"
    assert world.attempt("place_order", owner=ALICE, sub_account=0, market="SOL-PERP", side="sell", size=ONE, price=101 * PRICE) == "MarketPaused"
    # A valid price resumes the market at once.
    world.price(100 * PRICE)
    assert world.named("CircuitBreakerReset")[-1].status == "active"
    assert world.exchange.markets["SOL-PERP"].status == "active"


def test_a_too_wide_confidence_is_refused_and_recorded_and_the_old_price_stays():
    world = opened()
    world.price(99 * PRICE, confidence=2 * PRICE + 1)  # just over 2% of 99
    refused = world.named("PriceRejected")[-1]
    assert (refused.reason, refused.price, refused.reference_price) == ("ConfidenceTooWide", 99 * PRICE, 100 * PRICE)
    assert world.exchange.oracles["SOL"].price == 100 * PRICE
    assert world.exchange.oracle_validity("SOL-PERP", world.commands.at) == "ConfidenceTooWide"
    # The flag forbids new risk and liquidations until a good price arrives.
    assert world.attempt("place_order", owner=ALICE, sub_account=0, market="SOL-PERP", side="buy", size=ONE, price=99 * PRICE) == "OraclePriceInvalid"
    world.price(99 * PRICE, confidence=PRICE)
    assert world.exchange.oracle_validity("SOL-PERP", world.commands.at) == "Valid"


def test_a_five_fold_move_is_refused_as_too_volatile():
    world = opened()
    world.price(500 * PRICE)
    assert world.named("PriceRejected")[-1].reason == "TooVolatile"
    world.price(20 * PRICE)
    assert world.named("PriceRejected")[-1].reason == "TooVolatile"
    world.price(499 * PRICE)  # under 5x: accepted (and far from the mark TWAP: diverging)
    assert world.exchange.oracles["SOL"].price == 499 * PRICE


def test_a_price_far_from_the_mark_twap_is_used_but_flagged_diverging():
    world = opened()
    world.trade(ALICE, BOB, ONE, 100 * PRICE)
    world.price(75 * PRICE)
    accepted = world.named("PriceSet")[-1]
    assert (accepted.validity, accepted.diverging) == ("DivergingFromMark", True)
    # Margin and orders use it; funding does not.
    assert world.exchange.mark_price("SOL-PERP") == 75 * PRICE
    world.wait(3600 * SECOND)
    world.price(75 * PRICE)
    assert world.attempt("settle_funding", market="SOL-PERP") == "OraclePriceInvalid"


def test_an_out_of_order_publish_time_is_refused():
    world = opened()
    now = world.commands.at
    world.price(101 * PRICE, publish_time=now)
    world.price(102 * PRICE, publish_time=now - SECOND)
    assert world.named("PriceRejected")[-1].reason == "OutOfOrder"
    assert world.exchange.oracles["SOL"].price == 101 * PRICE


def test_the_breaker_trips_on_a_flag_that_lasts_and_resumes_the_prior_status():
    world = opened()
    world.do("set_market_status", symbol="SOL-PERP", status="reduce_only")
    world.price(100 * PRICE, confidence=10 * PRICE)  # flagged
    world.wait(20 * SECOND)
    world.do("risk_sweep")
    assert not world.named("CircuitBreakerTripped")  # 20 s: not yet
    world.wait(15 * SECOND)
    world.do("risk_sweep")
    assert world.exchange.markets["SOL-PERP"].status == "paused"
    world.price(100 * PRICE)
    assert world.exchange.markets["SOL-PERP"].status == "reduce_only"
