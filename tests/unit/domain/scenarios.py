"""A scripted tour of every use case, recording every kind of event (used by several tests)."""

from domain.exchange import Exchange
from domain.rejections import Rejected

from .conftest import ALICE, BOB, CAROL, ONE, PRICE, SOL_MARKET, USDC, Commands


def grand_tour(commands: Commands, app=None) -> tuple[Exchange, list]:  # noqa: ANN001
    """Run every use case once or more; returns the exchange and all events in command order
    (saved in the eventsourcing `app` too, when one is given)."""
    exchange = Exchange()
    events: list = []

    def run(use_case: str, **kwargs):
        try:
            result = getattr(exchange, use_case)(*commands.next(), **kwargs)
        except Rejected:
            result = None
        changed = exchange.collect_changed()
        events.extend(e for a in changed for e in a.pending_events)
        if app is not None:
            app.save(*changed)
        for aggregate in changed:
            aggregate.collect_events()
        return result

    run("create_market", **SOL_MARKET)
    run("change_market", symbol="SOL-PERP", changes={"taker_fee_bps": 6})
    run("set_oracle_price", symbol="SOL", price=100 * PRICE)
    run("set_oracle_price", symbol="SOL", price=101 * PRICE, confidence=50_000)
    run("fund_insurance", amount=1_000 * USDC)
    run("open_account", owner=ALICE)
    run("add_delegate", owner=ALICE, delegate=CAROL)
    run("remove_delegate", owner=ALICE, delegate=CAROL)
    run("open_sub_account", owner=ALICE, sub_account=1)
    run("deposit", owner=ALICE, sub_account=0, asset="USDC", amount=20_000 * USDC, reference="tx1")
    run("deposit", owner=ALICE, sub_account=0, asset="SOL", amount=10 * ONE)
    run("deposit", owner=BOB, sub_account=0, asset="USDC", amount=20_000 * USDC)
    run("transfer", owner=ALICE, from_sub_account=0, to_sub_account=1, asset="USDC", amount=100 * USDC)
    first = run("request_withdrawal", owner=ALICE, sub_account=1, asset="USDC", amount=50 * USDC)
    second = run("request_withdrawal", owner=ALICE, sub_account=1, asset="USDC", amount=10 * USDC)
    run("complete_withdrawal", owner=ALICE, withdrawal_id=first, chain_tx="5xyz")
    run("refund_withdrawal", owner=ALICE, withdrawal_id=second, reason="destination account frozen")
    run("place_order", owner=ALICE, sub_account=0, market="SOL-PERP", side="sell", size=3 * ONE, price=102 * PRICE, client_order_id="ask")
    run("place_order", owner=BOB, sub_account=0, market="SOL-PERP", side="buy", size=ONE, price=103 * PRICE)
    run("modify_order", owner=ALICE, sub_account=0, market="SOL-PERP", client_order_id="ask", new_price=101 * PRICE, new_size=3 * ONE)
    run("place_order", owner=BOB, sub_account=0, market="SOL-PERP", side="sell", size=ONE, price=110 * PRICE, reduce_only=True)
    run("place_order", owner=BOB, sub_account=0, market="SOL-PERP", side="buy", size=ONE, price=90 * PRICE, time_in_force="gtt", expires_at=commands.at + 5 * 10**9)
    run("place_order", owner=BOB, sub_account=0, market="SOL-PERP", side="sell", size=ONE, order_type="stop_market", trigger_price=95 * PRICE, client_order_id="stop")
    run("cancel_order", owner=BOB, sub_account=0, market="SOL-PERP", client_order_id="stop")
    run("place_order", owner=BOB, sub_account=0, market="SOL-PERP", side="buy", size=100_000 * ONE, price=100 * PRICE)  # rejected
    run("set_dead_man_switch", owner=ALICE, fires_at=commands.at + 60 * 10**9)
    run("set_market_status", symbol="SOL-PERP", status="reduce_only")
    run("set_market_status", symbol="SOL-PERP", status="active")
    commands.at += 100 * 10**9
    run("expire")
    run("cancel_all", owner=BOB)
    risk_tour(commands, run)
    return exchange, events


def risk_tour(commands: Commands, run) -> None:  # noqa: ANN001
    """Oracle validity, the circuit breaker, funding, a fired stop, a liquidation, a bankruptcy
    covered by the insurance fund and ADL (every risk event class)."""
    second = 10**9
    commands.at += 100 * second
    run("set_oracle_price", symbol="SOL", price=10_000_000_000, exponent=-8, confidence=1_000_000)  # Pyth-shaped $100.00
    run("set_oracle_price", symbol="SOL", price=100 * PRICE, confidence=5 * PRICE)  # confidence 5%: refused
    commands.at += 40 * second
    run("risk_sweep")  # flagged for 40 s: the circuit breaker pauses SOL-PERP
    run("set_oracle_price", symbol="SOL", price=100 * PRICE)  # valid again: the market resumes
    commands.at += 15 * second
    run("risk_sweep")  # 15 s without a price: stale for trading
    run("set_oracle_price", symbol="SOL", price=100 * PRICE)
    # Carol goes 20x long 100 SOL against Alice; Bob keeps a reduce-only stop under his long.
    run("open_account", owner=CAROL)
    run("deposit", owner=CAROL, sub_account=0, asset="USDC", amount=600 * USDC)
    run("place_order", owner=ALICE, sub_account=0, market="SOL-PERP", side="sell", size=100 * ONE, price=100 * PRICE)
    run("place_order", owner=CAROL, sub_account=0, market="SOL-PERP", side="buy", size=100 * ONE, price=100 * PRICE)
    run("place_order", owner=BOB, sub_account=0, market="SOL-PERP", side="sell", size=ONE, order_type="stop_market", trigger_price=95 * PRICE, reduce_only=True)
    # An hour later: funding.
    commands.at += 3600 * second
    run("set_oracle_price", symbol="SOL", price=100 * PRICE)
    run("settle_funding")
    # The crash: the stop fires; Carol is bankrupt; Bob liquidates her; the fund and ADL cover it.
    run("set_oracle_price", symbol="SOL", price=75 * PRICE)
    run("liquidate", owner=CAROL, sub_account=0, liquidator_owner=BOB, liquidator_sub_account=0)
