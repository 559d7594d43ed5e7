"""A crash liquidating several accounts (narrative): orders cancelled first, partial before full,
take-over at the oracle price, liquidator reward and insurance fee, a bankruptcy drawing the fund
down, then ADL of the most profitable and most leveraged opposite position; a bystander never
pays; every liquidation explained by its event."""

from .world import ALICE, BOB, CAROL, DAVE, LIQUIDATOR, ONE, PAT, PRICE, USDC, World

ERIN = "Erin111111111111111111111111111111111111111"[:44]


def crash_world() -> World:
    # The fund holds 300 USDC. Alice (maker) and Erin are short; Bob, Carol and Dave are long.
    world = World(insurance=300 * USDC)
    world.trader(ALICE, 50_000)
    world.trader(ERIN, 1_000)
    world.trader(BOB, 900)     # 100 SOL: ~11x
    world.trader(CAROL, 650)   # 100 SOL: ~15x
    world.trader(DAVE, 3_000)  # 100 SOL: ~3x
    world.trader(LIQUIDATOR, 1_000_000)
    world.trader(PAT, 5_000)   # a bystander: only USDC
    world.trade(BOB, ALICE, 100 * ONE, 100 * PRICE)
    world.trade(CAROL, ALICE, 100 * ONE, 100 * PRICE)
    world.trade(DAVE, ERIN, 100 * ONE, 100 * PRICE)  # Erin: 100 short on 1,000 USDC (10x)
    # Carol also rests a bid and a stop: liquidation cancels them first.
    world.do("place_order", owner=CAROL, sub_account=0, market="SOL-PERP", side="buy", size=ONE, price=90 * PRICE)
    world.do("place_order", owner=CAROL, sub_account=0, market="SOL-PERP", side="sell", size=ONE, order_type="stop_market", trigger_price=50 * PRICE, reduce_only=True)
    return world


def sweep(world: World) -> list:
    """The keeper's sweep with the liquidator's account."""
    return world.do("risk_sweep", liquidator=f"{LIQUIDATOR}/0")["liquidated"]


def test_a_crash_cascade():
    world = crash_world()
    pat_before = world.usdc(PAT)

    # $100 -> $96: Carol (15x) falls under maintenance; Bob and Dave are fine.
    world.price(96 * PRICE)
    assert sweep(world) == [f"{CAROL}/0"]
    # Her orders went first, then part of her position (not all of it) was taken over at the oracle.
    cancelled = world.named("OrdersCancelled")[-1]
    assert cancelled.reason == "Liquidation" and world.named("TriggerOrdersCancelled")[-1].reason == "Liquidation"
    carol = world.named("Liquidated")[-1]
    assert carol.price == 96 * PRICE and 0 < carol.size < 100 * ONE and carol.base_after == 100 * ONE - carol.size
    # The event explains it: mark, oracle and its validity, the margin figures that decided it.
    assert carol.collateral_value < carol.maintenance_margin and carol.margin_ratio_bps < 10_000
    assert (carol.mark_price, carol.oracle_price, carol.oracle_validity) == (96 * PRICE, 96 * PRICE, "Valid")
    # Penalty: 1% of the notional, half to the liquidator, half to the insurance fund.
    assert carol.penalty == carol.size * 96 * PRICE // ONE // 100
    assert carol.liquidator_reward + carol.insurance_fee == carol.penalty
    taken = world.named("LiquidationTakenOver")[-1]
    assert (taken.size, taken.side, taken.reward) == (carol.size, "buy", carol.liquidator_reward)
    # She is back above maintenance (plus the buffer) and keeps the rest of her position.
    after = world.exchange.margin(CAROL, 0)
    assert not after.liquidatable and after.margin_ratio_bps >= 10_200
    fund_after_fees = world.exchange.insurance_fund.balance
    assert fund_after_fees == 300 * USDC + carol.insurance_fee

    # $96 -> $88 in one print: Bob and Carol are under water; the fund cannot cover both.
    world.price(88 * PRICE)
    liquidated = sweep(world)
    assert set(liquidated) == {f"{BOB}/0", f"{CAROL}/0"}
    assert world.base(BOB) == 0 and world.base(CAROL) == 0
    covered = world.named("DeficitCovered")
    assert covered and all(c.deficit == c.insurance_covered + c.adl_covered + c.unresolved for c in covered)
    # The fund was drawn down to zero, then ADL took the rest from the short side's profits.
    assert world.exchange.insurance_fund.balance == 0
    draws = [e for e in world.named("InsuranceFundChanged") if e.reason == "BankruptcyCovered"]
    assert sum(-e.delta for e in draws) == fund_after_fees
    adl = world.named("AutoDeleveraged")
    assert adl and sum(e.amount for e in adl) == sum(c.adl_covered for c in covered)
    # Ranked by profit x leverage: Erin (10x short) before Alice (a large, lightly levered short).
    first = adl[0]
    assert world.exchange.accounts[ERIN].id == first.originator_id and first.unrealized_pnl > 0
    assert all(e.amount <= e.unrealized_pnl for e in adl)
    # Dave (3x long) is untouched; the bystander Pat never pays for anyone.
    assert world.base(DAVE) == 100 * ONE and world.usdc(PAT) == pat_before
    # The liquidator now holds the longs it took over.
    assert world.base(LIQUIDATOR) == 200 * ONE


def test_a_healthy_account_cannot_be_liquidated_and_nothing_changes():
    world = crash_world()
    before = world.exchange.state_hash()
    assert world.attempt("liquidate", owner=DAVE, sub_account=0, liquidator_owner=LIQUIDATOR) == "NotLiquidatable"
    # Only the rejection is recorded, on the liquidator's account.
    assert world.named("CommandRejected")[-1].command == "Liquidate"
    assert world.base(DAVE) == 100 * ONE and world.exchange.state_hash() != before  # (the rejection event)


def test_a_liquidator_must_afford_the_positions_and_cannot_liquidate_itself():
    world = crash_world()
    world.trader("Poor111111111111111111111111111111111111111"[:44], 10)
    world.price(96 * PRICE)
    assert world.attempt("liquidate", owner=CAROL, sub_account=0, liquidator_owner="Poor111111111111111111111111111111111111111"[:44]) == "InsufficientMargin"
    assert world.base(CAROL) == 100 * ONE  # nothing taken over, orders not cancelled
    assert world.attempt("liquidate", owner=CAROL, sub_account=0, liquidator_owner=CAROL) == "InvalidLiquidator"
