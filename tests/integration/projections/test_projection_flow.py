"""A trading session published on the events stream, projected by every projector, checked
against the domain's own state: what a dashboard would read is what the exchange holds."""

from __future__ import annotations

import psycopg
import pytest

from domain.book import Side
from projections.models.shapes import placement_of
from projections.registry import REGISTRY
from projections.sample import OWNERS, synthetic_risk_events, trading_session
from tests.integration.projections.helpers import last_handled, running_projectors, wait_for_position


@pytest.fixture(scope="module")
def session_script():
    return trading_session(orders=150, seed=11)


async def test_every_read_model_matches_the_domain(events_nats, read_dsn, publish_events,
                                                   session_script):
    # Given a trading session recorded by the real domain, plus risk events and receipts
    events = session_script.events + synthetic_risk_events(session_script.events[-1])
    domain_events = session_script.events
    # When it is published on the events stream and every projector runs
    await publish_events(events_nats, events)
    async with running_projectors(REGISTRY, events_nats, read_dsn, batch_size=64):
        for name in REGISTRY:
            await wait_for_position(read_dsn, name, last_handled(name, events))

    exchange = session_script.exchange
    with psycopg.connect(read_dsn, autocommit=True) as conn:
        # Then one trade row per fill recorded in the markets' OrderPlaced/OrderModified events
        fills = sum(len((placement_of(e) or {}).get("fills") or []) for e in domain_events
                    if e.type in ("OrderPlaced", "OrderModified"))
        assert fills > 20 and conn.execute("SELECT count(*) FROM read.trades").fetchone()[0] == fills
        # And the book levels equal the domain book's levels
        for symbol, market in exchange.markets.items():
            rows = conn.execute("SELECT side, price, size, orders FROM read.book_levels"
                                " WHERE market = %s ORDER BY side, price", (symbol,)).fetchall()
            expected = sorted((str(side), level.price, level.size, level.orders)
                              for side in (Side.BUY, Side.SELL)
                              for level in market.book.iter_levels(side))
            assert rows == expected
        # And positions equal the domain's positions (before the synthetic liquidation)
        liquidated = {f"{OWNERS[2]}/0"}
        for owner in OWNERS:
            account = exchange.account(owner)
            for number, sub in account.sub_accounts.items():
                key = f"{owner}/{number}"
                for symbol, position in sub.positions.items():
                    if key in liquidated and symbol == "SOL-PERP":
                        continue
                    row = conn.execute("SELECT size, entry_notional, realized_pnl FROM read.positions"
                                       " WHERE account = %s AND market = %s", (key, symbol)).fetchone()
                    assert row == (position.base, position.entry_notional, position.realized_pnl)
                if key not in liquidated:
                    for asset, amount in sub.balances.items():
                        row = conn.execute("SELECT amount FROM read.balances WHERE account = %s"
                                           " AND asset = %s", (key, asset)).fetchone()
                        assert row == (amount,), (key, asset)
        # And the open orders equal the domain's open orders
        for owner in OWNERS:
            open_ids = sorted(str(o.order_id) for o in exchange.open_orders(owner, 0))
            rows = conn.execute("SELECT order_id FROM read.orders WHERE account = %s AND status IN"
                                " ('open', 'partially_filled') ORDER BY order_id",
                                (f"{owner}/0",)).fetchall()
            assert sorted(r[0] for r in rows) == open_ids
        # And the synthetic risk events and receipts landed in their read models
        assert conn.execute("SELECT count(*) FROM read.liquidations").fetchone()[0] == 1
        assert conn.execute("SELECT amount FROM read.funding_payments").fetchone()[0] == -12_500
        assert conn.execute("SELECT balance FROM read.insurance_fund ORDER BY position DESC"
                            " LIMIT 1").fetchone()[0] == 2_500 + 1_000_000
        assert conn.execute("SELECT outcome, reason_code FROM read.command_receipts WHERE"
                            " client_command_id = 'client-cmd-2'").fetchone() == (
            "rejected", "InsufficientMargin")
