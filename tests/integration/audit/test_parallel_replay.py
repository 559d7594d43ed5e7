"""The parallel replay (chain verified in a child process over the same snapshot) reports
exactly what the sequential replay reports, on a clean and on a tampered store."""

from audit.log_source import StoreLog
from audit.replay import Replay
from audit.store_replay import replay_store
from bench.replay import open_store, write_trading_log
from tests.integration.audit.ledger import execute


def test_parallel_and_sequential_replays_agree(fresh_pg_dsn):
    store = open_store(fresh_pg_dsn)
    captured = write_trading_log(store, events=1200, batch_commands=30, capture_every=3)
    store.close()
    log = StoreLog(fresh_pg_dsn)
    # Clean store: same hashes and chain heads at the same positions.
    sequential = Replay().run(log.rows(), checkpoints=captured)
    parallel = replay_store(log, checkpoints=captured)
    assert parallel.ok and sequential.ok
    assert parallel.checkpoints == sequential.checkpoints and parallel.chain_head == sequential.chain_head
    assert {c.position: c.state_hash for c in parallel.checkpoints if c.position in captured} == captured
    # Tampered store: the same first break, and no state hash vouched for beyond it.
    execute(fresh_pg_dsn, "UPDATE exchange_events SET state = set_byte(state, 9, get_byte(state, 9) # 4)"
            " WHERE notification_id = 700")
    broken = replay_store(log, checkpoints=captured)
    assert broken.chain_break is not None and broken.chain_break.position == 700
    assert str(broken.chain_break) == str(Replay().run(log.rows()).chain_break)
    assert all(c.position < 700 for c in broken.checkpoints)
