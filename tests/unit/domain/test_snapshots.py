"""Aggregate snapshots: taken through eventsourcing's Application, they restore the same state,
and the restored exchange goes on exactly like the original."""

from eventsourcing.application import Application

from domain.exchange import Exchange

from .conftest import ALICE, BOB, ONE, PRICE, Commands
from .scenarios import grand_tour


def test_snapshots_restore_the_same_state_and_behaviour():
    # Run the tour into a snapshotting application, then snapshot every aggregate.
    commands = Commands()
    app = Application(env={"IS_SNAPSHOTTING_ENABLED": "y"})
    exchange, _ = grand_tour(commands, app)
    for aggregate in exchange.all_aggregates():
        app.take_snapshot(aggregate.id)
    # Loading now starts from the snapshots (plain JSON state, no replay of earlier events).
    restored = Exchange.from_aggregates(app.repository.get(a.id) for a in exchange.all_aggregates())
    assert restored.state_hash() == exchange.state_hash()
    assert restored.markets["SOL-PERP"].created_on == exchange.markets["SOL-PERP"].created_on
    # Both go on identically.
    for target in (exchange, restored):
        step = Commands(start_at=commands.at, step=commands.step)
        step.seq = commands.seq
        target.place_order(*step.next(), owner=ALICE, sub_account=0, market="SOL-PERP", side="buy", size=ONE, price=103 * PRICE)
        target.place_order(*step.next(), owner=BOB, sub_account=0, market="SOL-PERP", side="sell", size=2 * ONE, price=99 * PRICE)
    assert restored.state_hash() == exchange.state_hash()
