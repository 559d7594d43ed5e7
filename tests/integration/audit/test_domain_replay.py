"""The real domain through the engine's store: a replay from genesis reproduces the live
exchange's state hash at every captured position, agrees with the engine's own start-up
rebuild, and time travel answers what the live exchange showed at that position."""

import pytest

from audit.log_source import StoreLog
from audit.replay import Replay
from audit.time_travel import account_at
from bench.replay import PRICE, TradingWorkload, open_store, owner_key, write_trading_log


@pytest.fixture
def store(fresh_pg_dsn):
    store = open_store(fresh_pg_dsn)
    yield store
    store.close()


def test_replay_equals_the_live_state_hash_at_every_captured_position(store, fresh_pg_dsn):
    # A trading session committed in batches, the live hash captured after some commits.
    captured = write_trading_log(store, events=3000, batch_commands=40, capture_every=4)
    assert len(captured) >= 5
    # A replay from genesis verifies the chain and gives the same hash at each position.
    result = Replay().run(StoreLog(fresh_pg_dsn).rows(), checkpoints=captured)
    assert result.ok, result.chain_break or result.failure
    assert {c.position: c.state_hash for c in result.checkpoints if c.position in captured} == captured
    # The engine's own rebuild (eventsourcing repository) agrees at the end of the log.
    from bus.engine_replies import load_exchange

    exchange, _ = load_exchange(store)
    assert exchange.state_hash() == result.checkpoints[-1].state_hash


def test_time_travel_matches_the_account_as_it_was_live(store, fresh_pg_dsn):
    # Live: a short session; the account of one owner is captured at a commit position.
    workload = TradingWorkload(accounts=6)
    workload.setup()
    store.commit(workload.collect(), workload.seq)
    owner = workload.owners[2]
    seen = {}
    for _ in range(8):
        for _ in range(25):
            workload.trade()
        positions = store.commit(workload.collect(), workload.seq)
        exchange = workload.exchange
        sub = exchange.account(owner).sub(0)
        seen[positions[-1]] = (dict(sub.balances), {m: p.to_state() for m, p in sub.positions.items()},
                               [o.order_id for o in exchange.open_orders(owner, 0)],
                               exchange.margin(owner, 0).free_collateral, workload.at)
    # Later: an auditor asks for that account at each of those positions, and at those times.
    for position, (balances, positions, order_ids, free_collateral, at) in seen.items():
        snapshot = account_at(StoreLog(fresh_pg_dsn).rows(), owner, position=position)
        assert snapshot.problem is None and snapshot.exists and snapshot.position == position
        sub = snapshot.sub_accounts[0]
        assert sub["balances"] == balances and sub["positions"] == positions
        assert [o["order_id"] for o in sub["open_orders"]] == order_ids
        assert sub["margin"]["free_collateral"] == free_collateral
        by_time = account_at(StoreLog(fresh_pg_dsn).rows(), owner, time_ns=at)
        assert by_time.sub_accounts == snapshot.sub_accounts and by_time.at <= at



def test_time_travel_shows_the_inputs_that_decided_a_liquidation(store, fresh_pg_dsn):
    # A trader buys 5 SOL at 100 USDC on 100 USDC of collateral; a market maker sells them.
    workload = TradingWorkload(accounts=3)
    workload.setup()
    exchange, (_, maker, liquidator) = workload.exchange, workload.owners
    exchange.open_account(*workload.next_command(), owner=(fresh := owner_key(99)))
    exchange.deposit(*workload.next_command(), owner=fresh, sub_account=0, asset="USDC",
                     amount=100_000_000)
    exchange.place_order(*workload.next_command(), owner=maker, sub_account=0, market="SOL-PERP",
                         side="sell", size=5_000_000_000, price=PRICE)
    exchange.place_order(*workload.next_command(), owner=fresh, sub_account=0, market="SOL-PERP",
                         side="buy", size=5_000_000_000, price=PRICE)
    store.commit(workload.collect(), workload.seq)
    # SOL falls to 80: the trader is below maintenance; a liquidator takes the position over.
    at, seq = workload.next_command()
    exchange.set_oracle_price(at, seq, symbol="SOL", price=80_000_000, publish_time=at)
    store.commit(workload.collect(), workload.seq)
    live_margin = exchange.margin(fresh, 0)
    live_mark = exchange.mark_price("SOL-PERP")
    assert live_margin.liquidatable
    exchange.liquidate(*workload.next_command(), owner=fresh, sub_account=0, liquidator_owner=liquidator)
    positions = store.commit(workload.collect(), workload.seq)
    live_after = exchange.account(fresh).sub(0).position("SOL-PERP").to_state()
    # Later, the auditor asks for that account at the end of the liquidation's commit.
    snapshot = account_at(StoreLog(fresh_pg_dsn).rows(), fresh, position=positions[-1])
    assert snapshot.problem is None and snapshot.liquidations, snapshot
    liquidation = snapshot.liquidations[0]
    # The event's own inputs, and the margin the replay computed just before it, as live.
    assert liquidation["event"] == "Liquidated"
    assert liquidation["recorded"]["mark_price"] == live_mark
    before = liquidation["margin_before"]["0"]
    assert before["marks"] == {"SOL-PERP": live_mark}
    assert before["margin"]["maintenance_equity"] == live_margin.maintenance_equity
    assert before["margin"]["liquidatable"] is True
    assert snapshot.sub_accounts[0]["positions"]["SOL-PERP"] == live_after
