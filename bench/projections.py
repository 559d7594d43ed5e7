"""Events per second projected, against a binary COPY of the same rows; and projection lag.

    python -m bench.projections [--orders 20000] [--rate 5000] [--seconds 5] [--batch 2000]

Starts its own nats-server and PostgreSQL (durable default settings) in a temporary directory.
Events are a real domain session (`projections.sample.trading_session`), published on QD_EVT
as the relay would.
- `value`: the `trades` projector (trades + 6 candle rollups, the hot market-data path) from a
  full stream to caught up, events/s (events it handles). Every other projector is timed the
  same way and reported in `projectors`.
- `limit`: binary COPY of the same trade rows into an identical empty table, in events/s
  (the raw write ceiling of that path, measured in the same run).
- `lag_p50_ms`/`lag_p99_ms`: at `--rate` events/s offered for `--seconds`, time from publish to
  the commit of the batch containing the event (the trades projector running).
- `cpu_us_per_event` (projector process, all its threads) and `pg_cpu_us_per_event` (its
  PostgreSQL backend), for the trades projector: figures that do not depend on how busy the
  machine is. `cpu_capacity_events_s` = 1e6 / the larger of the two (the process and its
  backend run on different cores): the rate with the machine to itself.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import multiprocessing
import shutil
import tempfile
import time
from pathlib import Path

import nats
import psutil
import psycopg

from bench.report import emit, percentile
from bus import streams
from deploy.local.nats import NatsServer
from deploy.local.postgres import Postgres
from projections.catalog import ensure_active
from projections.consumer import Feed, declare_consumer
from projections.flavour import detect_flavour
from projections.model import open_projector_connection
from projections.registry import REGISTRY
from projections.sample import trading_session
from projections.wire_source import to_message


async def publish_all(url: str, events) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await streams.declare(js, streams=(streams.EVENTS,), consumers=())
    pending = []
    for event in events:
        subject, data = to_message(event)
        pending.append(await js.publish_async(subject, data, headers={"Nats-Msg-Id": str(event.position)}))
        if len(pending) >= 5000:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)
    await nc.close()


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of process `pid` (this process when None)."""
    if pid is None:
        return time.process_time()
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


async def time_projector(url: str, dsn: str, name: str, events, batch: int) -> tuple[int, float, float, float]:
    """(events handled, seconds, this process's CPU seconds, its PostgreSQL backend's CPU
    seconds) for projector `name` to catch up with the full stream."""
    target = [e for e in events if REGISTRY[name]().handler(e)]
    nc = await nats.connect(url)
    js = nc.jetstream()
    with open_projector_connection(dsn) as conn:
        model = REGISTRY[name](detect_flavour(conn))
        schema = ensure_active(conn, model)
        await declare_consumer(js, model, f"bench_{name}", 0)
        feed = Feed(js, conn, model, schema, f"bench_{name}", batch_size=batch)
        await feed.start()
        backend = conn.info.backend_pid
        started, cpu, pg_cpu = time.perf_counter(), cpu_seconds(), cpu_seconds(backend)
        last = target[-1].position if target else 0
        while feed.position < last:
            await feed.step(timeout=1.0)
        elapsed = time.perf_counter() - started
        cpu, pg_cpu = cpu_seconds() - cpu, cpu_seconds(backend) - pg_cpu
    await nc.close()
    return len(target), elapsed, cpu, pg_cpu


def copy_limit(dsn: str, handled: int) -> float:
    """Events/s if writing the trades rows were only a binary COPY into the same table shape."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        schema = conn.execute("SELECT schema_name FROM qd_projection.active WHERE projector = 'trades'").fetchone()[0]
        conn.execute("DROP SCHEMA IF EXISTS copy_limit CASCADE")
        conn.execute("CREATE SCHEMA copy_limit")
        model = REGISTRY["trades"](detect_flavour(conn))
        for statement in model.ddl("copy_limit"):
            conn.execute(statement)
        rows = conn.execute(f"SELECT * FROM {schema}.trades ORDER BY trade_id").fetchall()
        columns = [c.name for c in conn.execute(f"SELECT * FROM {schema}.trades LIMIT 0").description]
        model.partitions.ensure(conn, "copy_limit", "trades", {r[columns.index("at")] for r in rows})
        types = conn.execute(
            "SELECT array_agg(format_type(atttypid, atttypmod) ORDER BY attnum) FROM pg_attribute"
            f" WHERE attrelid = '{schema}.trades'::regclass AND attnum > 0 AND NOT attisdropped").fetchone()[0]
        started = time.perf_counter()
        with conn.cursor() as cursor:
            with cursor.copy(f"COPY copy_limit.trades ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
        elapsed = time.perf_counter() - started
    return handled / elapsed


def paced_publisher(url: str, messages: list[tuple[int, str, bytes]], rate: int, out) -> None:
    """Subprocess: publish `messages` at `rate`/s in 10 ms ticks; send {position: wall time}."""
    async def run() -> dict[int, float]:
        nc = await nats.connect(url)
        js = nc.jetstream()
        stamps: dict[int, float] = {}
        per_tick, started = max(1, rate // 100), time.perf_counter()
        for index in range(0, len(messages), per_tick):
            acks = []
            for position, subject, data in messages[index:index + per_tick]:
                stamps[position] = time.time()
                acks.append(await js.publish_async(subject, data))
            await asyncio.gather(*acks)
            delay = started + (index // per_tick + 1) * 0.01 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        await nc.close()
        return stamps

    out.send(asyncio.run(run()))


async def measure_lag(url: str, dsn: str, events, rate: int, seconds: float, batch: int) -> list[float]:
    """Publish at `rate` events/s from another process; lag = publish -> commit of the trades
    projector's batch holding the event (wall clock, same machine)."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.delete_stream(streams.EVENTS_STREAM)
    await streams.declare(js, streams=(streams.EVENTS,), consumers=())
    live = events[:min(len(events), int(rate * seconds))]
    handled = sorted(e.position for e in live if REGISTRY["trades"]().handler(e))
    committed_at: dict[int, float] = {}
    with open_projector_connection(dsn) as conn:
        conn.execute("DROP SCHEMA IF EXISTS proj_trades_g1 CASCADE")
        conn.execute("DELETE FROM qd_projection.active WHERE projector = 'trades'")
        model = REGISTRY["trades"](detect_flavour(conn))
        schema = ensure_active(conn, model)
        pending = list(handled)

        def committed(_: int, position: int) -> None:
            now = time.time()
            while pending and pending[0] <= position:
                committed_at[pending.pop(0)] = now

        await declare_consumer(js, model, "bench_lag", 0)
        feed = Feed(js, conn, model, schema, "bench_lag", batch_size=batch, on_batch=committed)
        await feed.start()
        receiver, sender = multiprocessing.Pipe(duplex=False)
        publisher = multiprocessing.get_context("spawn").Process(
            target=paced_publisher, args=(url, [(e.position, *to_message(e)) for e in live], rate, sender))
        publisher.start()
        while feed.position < handled[-1]:
            await feed.step(timeout=0.05)
        stamps = await asyncio.to_thread(receiver.recv)
        publisher.join(30)
    await nc.close()
    return sorted((committed_at[p] - stamps[p]) * 1000 for p in handled)


async def main_async(args) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="qd-bench-proj-"))
    nats_server = NatsServer(workdir / "nats").start()
    postgres = Postgres(workdir / "pg").start()
    try:
        started = time.perf_counter()
        events = trading_session(orders=args.orders, seed=1, minutes=args.orders // 30 + 1).events
        print(f"generated {len(events)} domain events in {time.perf_counter() - started:.1f}s", flush=True)
        # The generated session stays in memory for the whole run: keep it out of the garbage
        # collector's full passes, which would otherwise bill it to the projector measured.
        gc.freeze()
        await publish_all(nats_server.url, events)
        projectors = {}
        for name in REGISTRY:
            handled, elapsed, cpu, pg_cpu = await time_projector(nats_server.url, postgres.dsn, name,
                                                                 events, args.batch)
            per_event = (cpu / handled * 1e6, pg_cpu / handled * 1e6) if handled else (0.0, 0.0)
            projectors[name] = {"events": handled, "events_per_s": round(handled / elapsed) if elapsed else None,
                                "cpu_us_per_event": round(per_event[0], 1),
                                "pg_cpu_us_per_event": round(per_event[1], 1)}
            print(f"{name:17s} {handled:7d} events in {elapsed:6.2f}s;"
                  f" CPU per event: projector {per_event[0]:5.1f} us, PostgreSQL {per_event[1]:5.1f} us",
                  flush=True)
        value = projectors["trades"]["events_per_s"]
        cpu_per_event = projectors["trades"]["cpu_us_per_event"]
        pg_per_event = projectors["trades"]["pg_cpu_us_per_event"]
        limit = round(copy_limit(postgres.dsn, projectors["trades"]["events"]))
        lags = await measure_lag(nats_server.url, postgres.dsn, events, args.rate, args.seconds, args.batch)
        print(f"trades: {value} events/s (limit {limit}); lag p50 {percentile(lags, 0.5)} ms,"
              f" p99 {percentile(lags, 0.99)} ms at {args.rate} events/s;"
              f" load average {os.getloadavg()[0]:.1f}", flush=True)
        emit(bench="projections", value=value, unit="events/s", limit=limit,
             lag_p50_ms=percentile(lags, 0.5), lag_p99_ms=percentile(lags, 0.99),
             cpu_us_per_event=cpu_per_event, pg_cpu_us_per_event=pg_per_event,
             cpu_capacity_events_s=round(1e6 / max(cpu_per_event, pg_per_event, 1e-9)),
             load_average=round(os.getloadavg()[0], 1),
             offered_rate=args.rate, events=len(events), projectors=projectors)
    finally:
        nats_server.stop()
        postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.projections")
    parser.add_argument("--orders", type=int, default=20000)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
