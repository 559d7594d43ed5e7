"""Scale-out of the market-data projectors: two partitions by market build the same tables as one
process, and the position view shows the model as a whole."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from projections.checksum import model_checksums
from projections.partition import PartitionError
from projections.projector import run_projector
from projections.registry import REGISTRY
from projections.sample import trading_session
from tests.integration.projections.helpers import last_handled

MODELS = ("trades", "book")


async def wait_complete(dsn: str, name: str, position: int, timeout: float = 60.0) -> None:
    """Until `read.position_<name>` says the model is complete through `position`."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            try:
                row = conn.execute(f"SELECT greatest(position, consistent_through)"
                                   f" FROM read.position_{name}").fetchone()
            except psycopg.errors.UndefinedTable:
                row = None
            if row and row[0] and row[0] >= position:
                return
            assert time.monotonic() < deadline, f"{name} at {row} < {position}"
            await asyncio.sleep(0.05)


async def run_until_complete(runs: list[tuple[str, tuple[str, ...]]], nats_url: str, dsn: str, targets: dict):
    """Run projector tasks (name, markets) until every model is complete through its target."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(run_projector(name, nats_url, dsn, batch_size=40, stop=stop, markets=markets))
             for name, markets in runs]
    try:
        for name in MODELS:
            waiting = asyncio.create_task(wait_complete(dsn, name, targets[name]))
            done, _ = await asyncio.wait([waiting, *tasks], return_when=asyncio.FIRST_COMPLETED)
            assert waiting in done, [task.exception() for task in tasks if task in done]
            waiting.result()
    finally:
        stop.set()
        await asyncio.gather(*tasks)


def served(dsn: str) -> dict:
    with psycopg.connect(dsn) as conn:
        return {name: model_checksums(conn, REGISTRY[name](), "read") for name in MODELS}


async def test_two_market_partitions_build_the_same_tables_as_one_process(events_nats, postgres, publish_events):
    # Given a session on two markets, projected once by one process per model
    events = trading_session(orders=300, seed=11).events
    await publish_events(events_nats, events)
    targets = {name: last_handled(name, events) for name in MODELS}
    whole_dsn = postgres.dsn_for(postgres.create_database(f"part_whole_{time.time_ns()}"))
    await run_until_complete([(name, ()) for name in MODELS], events_nats, whole_dsn, targets)
    # When another store is projected by two partitions per model, one per market, side by side
    split_dsn = postgres.dsn_for(postgres.create_database(f"part_split_{time.time_ns()}"))
    await run_until_complete([(name, (market,)) for name in MODELS for market in ("BTC-PERP", "SOL-PERP")],
                             events_nats, split_dsn, targets)
    # Then every served table is the same, row for row
    whole, split = served(whole_dsn), served(split_dsn)
    assert whole["trades"]["trades"][0] > 0 and whole["book"]["book_levels"][0] > 0
    assert whole == split
    # ... each partition recorded its own position, and together they applied each event once
    with psycopg.connect(split_dsn) as split_conn, psycopg.connect(whole_dsn) as whole_conn:
        for name in MODELS:
            rows = split_conn.execute(f"SELECT projector FROM proj_{name}_g1.projection_position ORDER BY 1"
                                      ).fetchall()
            assert [r[0] for r in rows] == [f"{name}__btc_perp", f"{name}__sol_perp"]
            applied = f"SELECT events_applied FROM read.position_{name}"
            assert split_conn.execute(applied).fetchone() == whole_conn.execute(applied).fetchone()
    # ... and the whole model may not run where partitions have run (its row would be stale)
    with pytest.raises(PartitionError):
        await run_projector("trades", events_nats, split_dsn, stop=asyncio.Event())
