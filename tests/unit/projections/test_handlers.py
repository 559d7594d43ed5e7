"""Read-model handlers in memory (no database): what they compute equals the domain's state,
dispatch is by type name, and every event survives the wire round trip unchanged."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.book import Side
from projections.consumer import filter_subjects
from projections.event import ProjectedEvent
from projections.models.account_state import AccountStateModel
from projections.models.order_index import track
from projections.registry import REGISTRY
from projections.sample import OWNERS, trading_session
from projections.wire_source import from_message, to_message

SESSION = trading_session(orders=120, seed=13)


def run_in_memory(model, events):
    batch = model.new_batch()
    for event in events:
        handler = model.handler(event)
        if handler:
            handler(batch, event)
    return batch


def test_positions_and_balances_equal_the_domains():
    batch = run_in_memory(AccountStateModel(), SESSION.events)
    for owner in OWNERS:
        for number, sub in SESSION.exchange.account(owner).sub_accounts.items():
            for market, position in sub.positions.items():
                row = batch.positions[(f"{owner}/{number}", market)]
                assert (row["size"], row["entry_notional"], row["realized_pnl"]) == (
                    position.base, position.entry_notional, position.realized_pnl)
            for asset, amount in sub.balances.items():
                assert batch.balances[(f"{owner}/{number}", asset)]["amount"] == amount


def test_the_resting_order_index_equals_the_domain_book():
    index: dict = {}
    for event in SESSION.events:
        if event.aggregate_type == "Market" and event.type in (
                "OrderPlaced", "OrderModified", "OrdersCancelled", "OrdersExpired"):
            track(index, event)
    for symbol, market in SESSION.exchange.markets.items():
        # Summed per price level, our resting orders equal the domain book's levels
        levels: dict = {}
        for (order_market, _), order in index.items():
            if order_market == symbol and order is not None:
                key = (order["side"], order["price"])
                levels[key] = levels.get(key, 0) + order["size"]
        theirs = sorted((str(side), level.price, level.size) for side in (Side.BUY, Side.SELL)
                        for level in market.book.iter_levels(side))
        assert sorted((side, price, size) for (side, price), size in levels.items()) == theirs


def test_dispatch_is_by_aggregate_and_event_type_name():
    model = REGISTRY["markets"]()
    created = ProjectedEvent(position=1, type="Created", aggregate_type="Market", aggregate_id="x",
                             version=1, at=0, seq=1, key="SOL-PERP", payload={})
    oracle_created = ProjectedEvent(position=2, type="Created", aggregate_type="Oracle",
                                    aggregate_id="y", version=1, at=0, seq=2, payload={})
    assert model.handler(created) == model.on_Market_Created
    assert model.handler(oracle_created) is None


def test_each_projector_consumes_only_the_subjects_it_handles():
    assert filter_subjects(REGISTRY["fills"]()) == ["qd.evt.account.*.TradeSettled"]
    assert "qd.evt.receipt.*.Recorded" in filter_subjects(REGISTRY["receipts"]())
    assert all(s.startswith("qd.evt.market.*.") for s in filter_subjects(REGISTRY["book"]()))


@settings(max_examples=50)
@given(st.sampled_from(SESSION.events))
def test_wire_round_trip_keeps_every_field(event):
    assert from_message(*to_message(event)) == event
