"""bench.scale's projection scale-out phase: the trades projector as one process versus two
market partitions (`--markets BTC-PERP` and `--markets SOL-PERP`, projections/partition.py), each
catching up a paused backlog of the same synthetic two-market session into a fresh database.

The backlog must be large (bench.scale's default: 40k orders, ~133k events): the end is seen
when every process has gone idle (its consistency mark waits out one 0.2 s fetch), which on a
small backlog is most of what is measured."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from pathlib import Path

import nats
import psycopg

from bench.pipeline_progress import PROJECTOR, at_least, served_through, until
from bench.service_processes import service, stop_services
from bench.signed_commands import publish_all
from bus import streams
from deploy.local.nats import NatsServer
from deploy.local.postgres import Postgres


async def measure_partitions(nats_url: str, postgres: Postgres, partitions: list[tuple[str, ...]],
                             orders: int, log_dir: Path) -> dict:
    """Events/s of the trades projector run as one process per market set in `partitions`."""
    from projections.sample import trading_session
    from projections.wire_source import to_message

    label = "+".join(",".join(markets) or "all" for markets in partitions)
    dsn = postgres.create_database(f"scale_part_{uuid.uuid4().hex[:8]}")
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for name in (streams.EVENTS_STREAM,):
        try:
            await js.delete_stream(name)
        except nats.js.errors.NotFoundError:
            pass
    await streams.declare(js, streams=(streams.EVENTS,), consumers=())
    events = trading_session(orders=orders, seed=5).events
    warm, rest = events[: len(events) // 20], events[len(events) // 20:]

    async def publish(batch) -> None:
        await publish_all(js, [(*to_message(event), str(event.position)) for event in batch])

    conn = psycopg.connect(dsn, autocommit=True)
    running = []
    try:
        # Warm: every process starts and projects the first 5%; then they are paused
        await publish(warm)
        for index, markets in enumerate(partitions):
            argv = ["--markets", ",".join(markets)] if markets else []
            running.append(service(log_dir, f"partition-{label}-{index}", "projections.run", PROJECTOR,
                                   "--nats", nats_url, "--pg", dsn, *argv))
        await until(lambda: at_least(served_through(conn), warm[-1].position), 60, "the warm-up", 0.05)
        for process in running:
            os.kill(process.pid, signal.SIGSTOP)
        # The backlog: published while paused, then projected from resuming until consistent
        await publish(rest)
        resumed = time.perf_counter()
        for process in running:
            os.kill(process.pid, signal.SIGCONT)
        await until(lambda: at_least(served_through(conn), rest[-1].position), 300, "the backlog", 0.01)
        seconds = time.perf_counter() - resumed
        return {"processes": len(partitions), "events": len(rest), "events_per_s": round(len(rest) / seconds, 1)}
    finally:
        conn.close()
        await nc.close()
        stop_services(running)


def run_partitions(base: Path, postgres: Postgres, orders: int) -> dict:
    """The trades projector as one process, then as two market partitions."""
    server = NatsServer(base / "partitions", log_file=base / "partitions.log").start()
    try:
        return {count: asyncio.run(measure_partitions(server.url, postgres, partitions, orders, base))
                for count, partitions in ((1, [()]), (2, [("BTC-PERP",), ("SOL-PERP",)]))}
    finally:
        server.stop()
