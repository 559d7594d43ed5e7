"""A projector never double counts and never skips silently: replays change nothing, a
SIGKILL mid-batch resumes exactly, deliveries that go astray are projected at once and once, a
poison event stops it naming the event, and a blue/green rebuild reproduces the live tables
checksum for checksum."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time

import nats
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bus import streams
from bus.puller import DeliveryLost
from projections.catalog import ensure_active
from projections.checksum import model_checksums
from projections.consumer import Feed, declare_consumer
from projections.event import PoisonEvent, ProjectedEvent
from projections.flavour import detect_flavour
from projections.model import apply_batch, create_tables, open_projector_connection
from projections.projector import durable_name
from projections.rebuild import Replay, rebuild
from projections.registry import REGISTRY
from projections.sample import sample_events, trading_session
from tests.integration.bus.lost_deliveries import deliveries_astray
from tests.integration.projections.helpers import last_handled, running_projectors, wait_for_position

SAMPLE = sample_events(orders=80, seed=5)


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(cuts=st.lists(st.integers(min_value=1, max_value=len(SAMPLE) - 1), max_size=6, unique=True),
       replayed=st.integers(min_value=0, max_value=len(SAMPLE) - 1))
def test_applying_batches_twice_changes_nothing(read_dsn, cuts, replayed):
    # Given every read model fed the sample in one batch
    # When another copy gets it in arbitrary batches, with one batch delivered a second time
    with psycopg.connect(read_dsn, autocommit=True) as conn:
        bounds = [0, *sorted(cuts), len(SAMPLE)]
        batches = [SAMPLE[a:b] for a, b in zip(bounds, bounds[1:])]
        again = next(b for b in batches if SAMPLE[replayed] in b)
        for name, model_class in REGISTRY.items():
            model = model_class()
            whole, split = f"w_{name}", f"s_{name}"
            for schema in (whole, split):
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                create_tables(conn, model, schema)
            apply_batch(conn, model, whole, SAMPLE)
            for batch in batches:
                apply_batch(conn, model, split, batch)
            apply_batch(conn, model, split, again)
            # Then both copies hold exactly the same rows
            assert model_checksums(conn, model, whole) == model_checksums(conn, model, split), name


async def test_poison_event_stops_the_projector_naming_it(events_nats, read_dsn, publish_events):
    # Given a good event followed by an OrderPlaced without its order
    good = SAMPLE[:10]
    poison = ProjectedEvent(position=good[-1].position + 1, type="OrderPlaced",
                            aggregate_type="Market", aggregate_id="m", version=99, at=good[-1].at,
                            seq=999, key="SOL-PERP", payload={"fills": [], "rested_size": 1})
    await publish_events(events_nats, [*good, poison])
    # When the orders projector runs
    with pytest.raises(PoisonEvent) as stopped:
        async with running_projectors(["orders"], events_nats, read_dsn) as tasks:
            await asyncio.wait_for(tasks["orders"], 20)
    # Then it stopped loudly, naming the event, and recorded nothing past the good ones
    assert "Market.OrderPlaced at position" in str(stopped.value)
    assert str(poison.position) in str(stopped.value)
    with psycopg.connect(read_dsn) as conn:
        assert conn.execute("SELECT position FROM read.position_orders").fetchone()[0] < poison.position


async def test_sigkill_mid_batch_resumes_without_double_counting(events_nats, read_dsn, publish_events):
    # Given a long session on the stream
    events = trading_session(orders=1500, seed=3).events
    await publish_events(events_nats, events)
    target = last_handled("fills", events)
    command = [sys.executable, "-m", "projections.run", "fills", "--nats", events_nats,
               "--pg", read_dsn, "--batch", "10"]
    # When the fills projector is SIGKILLed while it is working (after it committed some
    # batches, before it is done), twice, then left to finish
    killed_at = []
    for _ in range(2):
        before = applied_position(read_dsn)
        process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while applied_position(read_dsn) <= before and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        killed_at.append(applied_position(read_dsn))
    assert 0 < killed_at[0] < killed_at[1] < target, killed_at
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        await wait_for_position(read_dsn, "fills", target, timeout=90)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
    # Then every settled fill is there exactly once
    assert_every_fill_once(read_dsn, events)


def settled_fills(events) -> int:
    return sum(len(s["fills"]) for e in events if e.type == "TradeSettled" for s in e.payload["settlements"])


def assert_every_fill_once(dsn: str, events) -> None:
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM read.fills").fetchone()[0] == settled_fills(events)
        applied = conn.execute("SELECT events_applied FROM read.position_fills").fetchone()[0]
    assert applied == sum(1 for e in events if e.type == "TradeSettled")


def applied_position(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            return conn.execute("SELECT position FROM read.position_fills").fetchone()[0]
        except psycopg.errors.UndefinedTable:
            return 0


async def test_rebuild_matches_the_live_tables_and_switches_over(events_nats, read_dsn, publish_events):
    # Given live projectors that have applied the sample
    await publish_events(events_nats, SAMPLE[:150])
    names = ["trades", "book", "account_state"]
    async with running_projectors(names, events_nats, read_dsn):
        for name in names:
            await wait_for_position(read_dsn, name, last_handled(name, SAMPLE[:150]))
        # When each is rebuilt from the start of the log while the live one keeps serving
        for name in names:
            result = await rebuild(name, events_nats, read_dsn)
            # Then the new generation's checksums equal the live ones and the views switched
            assert result.matches and result.switched, result
            assert result.new_schema.endswith("_g2")
        # And the live projectors carry on in the new schema with what comes next
        await publish_events(events_nats, SAMPLE[150:])
        for name in names:
            await wait_for_position(read_dsn, name, last_handled(name, SAMPLE))
    with psycopg.connect(read_dsn) as conn:
        assert conn.execute("SELECT schema_name FROM qd_projection.active WHERE projector = 'trades'"
                            ).fetchone()[0] == "proj_trades_g2"
        expected = sum(1 for e in SAMPLE if e.type in ("OrderPlaced", "OrderModified")
                       for _ in ((e.payload.get("placement") if e.type == "OrderModified" else e.payload) or {}).get("fills") or [])
        assert conn.execute("SELECT count(*) FROM read.trades").fetchone()[0] == expected


async def test_deliveries_that_go_astray_are_projected_at_once_and_once(events_nats, read_dsn, publish_events):
    # Given a long session on the stream and the fills projector working through it
    events = trading_session(orders=1500, seed=3).events
    await publish_events(events_nats, events)
    target = last_handled("fills", events)
    nc = await nats.connect(events_nats)
    try:
        async with running_projectors(["fills"], events_nats, read_dsn, batch_size=10):
            await wait_for_position(read_dsn, "fills", 1)
            # When some of its consumer's deliveries never reach it (as in a cluster node's death)
            async with deliveries_astray(nc, streams.EVENTS_STREAM, durable_name("fills"), 20) as astray:
                pass
            assert len(astray) == 20
            # Then it resumes from its recorded position at once, not after the 30 s ack wait
            await wait_for_position(read_dsn, "fills", target, timeout=20)
    finally:
        await nc.close()
    # ... and every settled fill is there exactly once
    assert_every_fill_once(read_dsn, events)


async def test_a_rebuild_resumes_when_its_deliveries_go_astray(events_nats, read_dsn, publish_events):
    # Given a live fills projector that has applied a long session
    events = trading_session(orders=1500, seed=3).events
    await publish_events(events_nats, events)
    nc = await nats.connect(events_nats)
    try:
        async with running_projectors(["fills"], events_nats, read_dsn):
            await wait_for_position(read_dsn, "fills", last_handled("fills", events), timeout=60)
            # When it is rebuilt ten events at a time and some of the rebuild's deliveries never
            # reach it (as in a cluster node's death)
            rebuilding = asyncio.create_task(rebuild("fills", events_nats, read_dsn, batch_size=10))
            await until_consumer_exists(nc, "proj_fills_rebuild")
            async with deliveries_astray(nc, streams.EVENTS_STREAM, "proj_fills_rebuild", 20) as astray:
                pass
            assert len(astray) == 20
            # Then it goes on from its recorded position, identical to the live tables, and switches
            result = await asyncio.wait_for(rebuilding, 60)
            assert result.matches and result.switched, result
    finally:
        await nc.close()
    assert_every_fill_once(read_dsn, events)


@contextlib.asynccontextmanager
async def the_fills_model_over_a_session_part(events_nats, read_dsn, publish_events):
    """The first four fifths of a session on the stream; yields (nc, conn, fills model, events,
    the rest's publisher sending every delivery of it astray from `durable`)."""
    events = trading_session(orders=300, seed=4).events
    cut = len(events) * 4 // 5
    await publish_events(events_nats, events[:cut])
    nc = await nats.connect(events_nats)
    conn = open_projector_connection(read_dsn)

    async def rest_astray(durable: str) -> None:
        # every delivery of the rest goes astray: no later message shows a gap
        async with deliveries_astray(nc, streams.EVENTS_STREAM, durable, 10_000, seconds=1.0) as astray:
            await publish_events(events_nats, events[cut:])
        assert astray
    try:
        yield nc, conn, REGISTRY["fills"](detect_flavour(conn)), events, rest_astray
    finally:
        conn.close()
        await nc.close()


async def test_a_rebuild_phase_whose_last_deliveries_went_astray_does_not_end_short(
        events_nats, read_dsn, publish_events):
    async with the_fills_model_over_a_session_part(events_nats, read_dsn, publish_events) as (
            nc, conn, model, events, rest_astray):
        # Given a rebuild's replay idle after the first part of a session
        conn.execute("DROP SCHEMA IF EXISTS proj_fills_replayed CASCADE")
        create_tables(conn, model, "proj_fills_replayed")
        replay = Replay(nc.jetstream(), conn, model, "proj_fills_replayed", "proj_fills_replay", batch_size=50)
        await replay.start()
        await replay.until_idle(lambda: 10**12)
        # When every delivery of the rest goes astray
        await rest_astray("proj_fills_replay")
        # Then the phase goes on until the consumer confirms it has nothing more: every fill is there
        await replay.until_idle(lambda: 10**12)
        count = conn.execute("SELECT count(*) FROM proj_fills_replayed.fills").fetchone()[0]
        assert count == settled_fills(events)
        await replay.feed.stop()
        await nc.jetstream().delete_consumer(streams.EVENTS_STREAM, "proj_fills_replay")


async def until_consumer_exists(nc, durable: str) -> None:
    for _ in range(500):
        try:
            await nc.jetstream().consumer_info(streams.EVENTS_STREAM, durable)
            return
        except nats.js.errors.NotFoundError:
            await asyncio.sleep(0.01)
    raise AssertionError(f"no consumer {durable}")


async def test_an_idle_feed_whose_last_deliveries_went_astray_says_so(events_nats, read_dsn, publish_events):
    async with the_fills_model_over_a_session_part(events_nats, read_dsn, publish_events) as (
            nc, conn, model, _, rest_astray):
        # Given the fills feed idle after the first part of a session
        durable = durable_name("fills")
        schema = ensure_active(conn, model)
        await declare_consumer(nc.jetstream(), model, durable, 0)
        feed = Feed(nc.jetstream(), conn, model, schema, durable, batch_size=50)
        await feed.start()
        while await feed.step(timeout=0.2):
            pass
        # When every delivery of the rest goes astray
        await rest_astray(durable)
        # Then the idle feed learns it from its consumer, at once rather than after the ack wait
        with pytest.raises(DeliveryLost):
            for _ in range(3):
                assert await feed.step(timeout=0.2) == 0
        await feed.stop()
