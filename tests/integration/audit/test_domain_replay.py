"""The real domain through the engine's store: a replay from genesis reproduces the live
exchange's state hash at every captured position, agrees with the engine's own start-up
rebuild, and time travel answers what the live exchange showed at that position."""

import pytest

from audit.log_source import StoreLog
from audit.replay import Replay
from audit.time_travel import account_at
from domain.account import Account
from bench.replay import TradingWorkload, open_store, write_trading_log


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


class Liquidated(Account.Event):
    """Stand-in for the risk issue's liquidation event (recorded on the account, as it will be)."""

    at: int
    seq: int
    market: str
    reason: str

    def apply(self, aggregate) -> None:  # noqa: ANN001 - the decision is what is audited here
        pass


def test_time_travel_shows_the_inputs_that_decided_a_liquidation(store, fresh_pg_dsn):
    # An account trades, then the SOL price collapses and a liquidation event is recorded.
    workload = TradingWorkload(accounts=4)
    workload.setup()
    for _ in range(60):
        workload.trade()
    store.commit(workload.collect(), workload.seq)
    owner = next(o for o in workload.owners
                 if workload.exchange.account(o).sub(0).position("SOL-PERP").base != 0)
    workload.exchange.set_oracle_price(*workload.next_command(), symbol="SOL", price=1_000_000)
    store.commit(workload.collect(), workload.seq)
    account = workload.exchange.account(owner)
    expected_margin = workload.exchange.margin(owner, 0)
    at, seq = workload.next_command()
    account.trigger_event(Liquidated, at=at, seq=seq, market="SOL-PERP", reason="below maintenance")
    position = store.commit(account.collect_events(), workload.seq)[-1]
    # The auditor sees the event and the margin the rules computed just before it.
    include = lambda topic: topic.startswith("domain.") or ":Liquidated" in topic  # noqa: E731
    snapshot = account_at(StoreLog(fresh_pg_dsn).rows(), owner, position=position,
                          replay=Replay(include=include))
    assert snapshot.problem is None and len(snapshot.liquidations) == 1
    liquidation = snapshot.liquidations[0]
    assert liquidation["position"] == position and liquidation["recorded"]["reason"] == "below maintenance"
    before = liquidation["margin_before"]["0"]
    assert before["marks"] == {"SOL-PERP": 1_000_000}
    assert before["margin"]["maintenance_equity"] == expected_margin.maintenance_equity
    assert before["margin"]["margin_ratio_bps"] == expected_margin.margin_ratio_bps
