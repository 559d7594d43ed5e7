"""Replay: aggregates saved through an eventsourcing Application and loaded back rebuild the
same Exchange (same state hash); the events are stamped from command time, not a clock."""

from eventsourcing.application import Application

from domain.exchange import Exchange

from .conftest import ALICE, BOB, ONE, PRICE, Commands, trading_exchange


def run_scenario(commands: Commands) -> Exchange:
    """A small session of trading."""
    exchange = trading_exchange(commands)
    exchange.place_order(*commands.next(), owner=ALICE, sub_account=0, market="SOL-PERP", side="sell", size=3 * ONE, price=101 * PRICE)
    exchange.place_order(*commands.next(), owner=ALICE, sub_account=0, market="SOL-PERP", side="sell", size=ONE, price=102 * PRICE, client_order_id="x")
    exchange.place_order(*commands.next(), owner=BOB, sub_account=0, market="SOL-PERP", side="buy", size=2 * ONE, price=101 * PRICE)
    exchange.place_order(*commands.next(), owner=BOB, sub_account=0, market="SOL-PERP", side="buy", size=ONE, price=99 * PRICE, time_in_force="gtt", expires_at=commands.at + 10**9)
    exchange.cancel_order(*commands.next(), owner=ALICE, sub_account=0, market="SOL-PERP", client_order_id="x")
    return exchange


def test_saved_and_reloaded_aggregates_give_the_same_state_hash():
    # Run a session, saving every command's changes as the engine would.
    commands = Commands()
    app = Application()
    exchange = Exchange()
    exchange.create_market(*commands.next(), symbol="SOL-PERP", base_asset="SOL", tick_size=1_000, lot_size=10_000_000, min_size=10_000_000, max_leverage=20, initial_margin_bps=500, maintenance_margin_bps=300, maker_fee_bps=-2, taker_fee_bps=5)
    app.save(*exchange.collect_changed())
    for owner in (ALICE, BOB):
        exchange.deposit(*commands.next(), owner=owner, sub_account=0, asset="USDC", amount=10**10)
        app.save(*exchange.collect_changed())
    for side, owner, price in [("sell", ALICE, 101), ("sell", ALICE, 102), ("buy", BOB, 102), ("buy", BOB, 99)]:
        exchange.place_order(*commands.next(), owner=owner, sub_account=0, market="SOL-PERP", side=side, size=ONE, price=price * PRICE)
        app.save(*exchange.collect_changed())
    # Load every aggregate back from the store (replaying its events) and compare.
    reloaded = Exchange.from_aggregates(app.repository.get(a.id) for a in exchange.all_aggregates())
    assert reloaded.state_hash() == exchange.state_hash()
    assert reloaded.markets["SOL-PERP"].book.best_bid() == 99 * PRICE


def test_the_same_commands_give_the_same_hash_and_events():
    first = run_scenario(Commands())
    second = run_scenario(Commands())
    assert first.state_hash() == second.state_hash()
    first_events = [e for a in first.collect_changed() for e in a.pending_events]
    second_events = [e for a in second.collect_changed() for e in a.pending_events]
    assert first_events == second_events  # timestamps included: derived from `at`


def test_an_armed_dead_man_switch_survives_a_restart():
    # Alice arms her switch and rests an order; the engine restarts from the store.
    commands = Commands()
    app = Application()
    exchange = trading_exchange(commands, app=app)
    at, _ = commands.next()
    exchange.place_order(*commands.next(), owner=ALICE, sub_account=0, market="SOL-PERP", side="buy", size=ONE, price=99 * PRICE)
    exchange.set_dead_man_switch(*commands.next(), owner=ALICE, fires_at=at + 10**9)
    app.save(*exchange.collect_changed())
    restarted = Exchange.from_aggregates(app.repository.get(a.id) for a in exchange.all_aggregates())
    # The restarted exchange still fires it on time.
    assert restarted.expire(at + 10**9, commands.seq + 1).dead_man_owners == [ALICE]
    assert restarted.open_orders(ALICE, 0) == []


def test_the_state_hash_changes_with_the_state():
    commands = Commands()
    exchange = trading_exchange(commands)
    before = exchange.state_hash()
    exchange.deposit(*commands.next(), owner=ALICE, sub_account=0, asset="USDC", amount=1)
    assert exchange.state_hash() != before
