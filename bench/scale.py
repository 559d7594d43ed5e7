"""`python -m bench.scale`: one NATS node versus a three-node R3 cluster, one read API process
versus two.

    python -m bench.scale [--commands 4000] [--api-seconds 4] [--projection-orders 4000]

For each topology (a single nats-server; three clustered over loopback with R3 streams), on a
fresh database of one local PostgreSQL:

- **End to end, commands/s**: signed PlaceOrder commands (crossing, so trades happen) are
  published as fast as JetStream acks them; the clock stops when the real engine process has
  committed the last one and the real relay process has published every stored event to the
  events stream. ``value`` = cluster commands/s, ``limit`` = single-node commands/s (the same
  path without replication), so ``ratio`` is what R3 costs.
- **Projection, events/s**: the real ``trades`` projector process then projects the whole events
  stream from the start; the rate is taken from its first applied batch to the last.

Then **projection scale-out, events/s**: the ``trades`` projector as one process versus two
market partitions (``--markets BTC-PERP`` and ``--markets SOL-PERP``, projections/partition.py)
on the same synthetic two-market session published to a nats-server as the relay would; each
catches up a paused backlog (the same method as above) into a fresh database.

Then **read API, requests/s**: ``python -m read_api --workers 1`` versus ``--workers 2`` (two
processes behind one port) on the cluster run's read models, under the same closed-loop load
(two client processes, 16 connections each) on market-data routes for a fixed time.

All on loopback, bounded (a few thousand commands, a few seconds per phase); the machine is
shared, so figures are noisy: read them as ratios. Last line: one JSON object (bench.report).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import msgspec
import nats
import psycopg
from solders.keypair import Keypair

from bench.report import emit
from bus import streams, subjects
from bus.engine import RPC_STATE
from commands import envelope as envelopes
from commands import messages
from deploy.local.cluster import NatsCluster
from deploy.local.nats import NatsServer, stop_process
from deploy.local.ports import free_port, wait_for_port
from deploy.local.postgres import FAST_UNSAFE_SETTINGS, Postgres

ROOT = Path(__file__).resolve().parents[1]
USDC = 1_000_000
BOTS = 8
PROJECTOR = "trades"
API_PATHS = ("/v1/markets/SOL-PERP/trades?limit=50", "/v1/markets/SOL-PERP/candles?resolution=1m&limit=50",
             "/v1/markets/SOL-PERP/candles?resolution=1h&limit=24")  # read models of the trades projector


def service(log_dir: Path, name: str, *argv: str) -> subprocess.Popen:
    """Start `python -m ...` as its own process group, logging to `log_dir/name.log`."""
    log = open(log_dir / f"{name}.log", "ab")
    return subprocess.Popen([sys.executable, "-m", *argv], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def signed(keypair: Keypair, command, owner: str | None = None) -> tuple[str, bytes, str]:
    """(subject, wire bytes, command id) of one signed command."""
    command_id = uuid.uuid4().hex
    unsigned = envelopes.UnsignedEnvelope(command_id=command_id, owner=owner or str(keypair.pubkey()),
                                          command=command, expires_at=time.time_ns() + 600 * 10**9)
    data = envelopes.encode(envelopes.sign(unsigned, keypair))
    return subjects.command_for_type(type(command).__name__), data, command_id


def set_up(admin: Keypair, bots: list[Keypair]) -> list[tuple[str, bytes, str]]:
    """A market, its price, and funded accounts for every bot."""
    batch = [signed(admin, messages.CreateMarket(
        market="SOL-PERP", base_asset="SOL", tick_size=10_000, lot_size=1_000_000, min_size=1_000_000,
        max_leverage=20, initial_margin_bps=500, maintenance_margin_bps=250, maker_fee_bps=0,
        taker_fee_bps=5)), signed(admin, messages.SetOraclePrice(symbol="SOL", price=100 * USDC))]
    for bot in bots:
        batch.append(signed(bot, messages.OpenAccount()))
        batch.append(signed(admin, messages.Deposit(asset="USDC", amount=10_000_000 * USDC),
                            owner=str(bot.pubkey())))
    return batch


def orders(bots: list[Keypair], count: int) -> list[tuple[str, bytes, str]]:
    """`count` crossing limit orders around 100 USDC, signed in advance (signing is not measured)."""
    load = []
    for i in range(count):
        side = "buy" if i % 2 else "sell"
        price = (100 + (1 if side == "buy" else -1) * (i % 3)) * USDC
        load.append(signed(bots[i % len(bots)], messages.PlaceOrder(
            market="SOL-PERP", side=side, size=1_000_000, price=price, client_order_id=f"o{i}")))
    return load


async def publish_all(js, batch: list[tuple[str, bytes, str]], window: int = 2000) -> None:
    """Publish with Nats-Msg-Id, up to `window` acks outstanding."""
    pending = []
    for subject, data, command_id in batch:
        pending.append(await js.publish_async(subject, data, headers={subjects.HEADER_MSG_ID: command_id}))
        if len(pending) >= window:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)


async def until(predicate, timeout: float, what: str, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


def engine_position(conn) -> int:
    row = conn.execute("SELECT notification_id FROM exchange_tracking WHERE application_name = 'engine'").fetchone()
    return row[0] if row else 0


async def run_topology(label: str, urls: list[str], dsn: str, replicas: int, commands: int,
                       log_dir: Path) -> dict:
    """Engine + relay + projector processes on `urls`; returns the measured rates."""
    nc = await nats.connect(urls)
    js = nc.jetstream()
    await streams.declare(js, tuple(dataclasses.replace(c, num_replicas=replicas) for c in streams.STREAMS),
                          consumers=())
    admin, bots = Keypair(), [Keypair() for _ in range(BOTS)]
    running = [service(log_dir, f"{label}-engine", "bus.engine", "--nats", urls[0], "--pg", dsn,
                       "--admin", str(admin.pubkey())),
               service(log_dir, f"{label}-relay", "bus.relay", "--nats", urls[0], "--pg", dsn)]
    conn = psycopg.connect(dsn, autocommit=True)
    try:
        preparation, load = set_up(admin, bots), orders(bots, commands)
        await publish_all(js, preparation)
        last = (await js.stream_info(streams.COMMANDS_STREAM)).state.last_seq
        await until(lambda: _at_least(engine_position(conn) if _has_tracking(conn) else 0, last), 60,
                    "the engine to start and apply the set-up", 0.1)

        # The projector starts on the set-up's events, then is paused (SIGSTOP) during the load,
        # so that it later projects the whole backlog at full speed, warm
        projector = service(log_dir, f"{label}-projector", "projections.run", PROJECTOR,
                            "--nats", urls[0], "--pg", dsn)
        running.append(projector)
        async def relayed() -> bool:
            stored = conn.execute("SELECT count(*) FROM exchange_events").fetchone()[0]
            return (await js.stream_info(streams.EVENTS_STREAM)).state.messages >= stored
        await until(relayed, 60, "the relay to publish the set-up")
        await until(lambda: _at_least(_consistent_through(conn), _last_position(conn)), 60,
                    "the projector to project the set-up", 0.05)
        os.kill(projector.pid, signal.SIGSTOP)
        projected_before = (await js.stream_info(streams.EVENTS_STREAM)).state.messages

        # End to end: publish everything; stop when committed and relayed
        started = time.perf_counter()
        await publish_all(js, load)
        last = (await js.stream_info(streams.COMMANDS_STREAM)).state.last_seq
        await until(lambda: _at_least(engine_position(conn), last), 300, "the engine to commit the load")
        await until(relayed, 300, "the relay to publish every event")
        elapsed = time.perf_counter() - started
        events = (await js.stream_info(streams.EVENTS_STREAM)).state.messages
        backlog = events - projected_before
        outcomes = msgspec.json.decode((await nc.request(RPC_STATE, b"", timeout=30)).data)

        # Projection: the backlog, from resuming the projector until it is consistent again
        resumed = time.perf_counter()
        os.kill(projector.pid, signal.SIGCONT)
        target = _last_position(conn)
        await until(lambda: _at_least(_consistent_through(conn), target), 300, "the projector to catch up", 0.01)
        projection = round(backlog / (time.perf_counter() - resumed), 1)
        # The markets read model too, so that the read API knows the market (not measured)
        running.append(service(log_dir, f"{label}-markets", "projections.run", "markets",
                               "--nats", urls[0], "--pg", dsn))
        await until(lambda: _at_least(_consistent_through(conn, "markets"), target), 120,
                    "the markets projector", 0.05)
        return {"commands_per_s": round(commands / elapsed, 1), "events": events,
                "accepted": outcomes.get("accepted"), "rejections": outcomes.get("rejections"),
                "projected_backlog": backlog, "projection_events_per_s": projection}
    finally:
        conn.close()
        await nc.close()
        for process in running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
            stop_process(process)


async def _at_least(value: int, target: int) -> bool:
    return value >= target


def _has_tracking(conn) -> bool:
    return conn.execute("SELECT to_regclass('exchange_tracking') IS NOT NULL").fetchone()[0]


def _last_position(conn) -> int:
    return conn.execute("SELECT coalesce(max(notification_id), 0) FROM exchange_events").fetchone()[0]


def _consistent_through(conn, projector: str = PROJECTOR) -> int:
    """A projector's `consistent_through` (0 before it has started)."""
    from projections.catalog import active_schema

    if not conn.execute("SELECT to_regclass('qd_projection.active') IS NOT NULL").fetchone()[0]:
        return 0
    schema = active_schema(conn, projector)
    if schema is None:
        return 0
    try:
        row = conn.execute(f"SELECT consistent_through FROM {schema}.projection_position"
                           " WHERE projector = %s", (projector,)).fetchone()
    except psycopg.errors.UndefinedTable:
        return 0
    return row[0] if row else 0


def _client_load(port: int, seconds: float, connections: int, results) -> None:
    """One client process: `connections` closed loops over the market-data routes."""
    import httpx

    async def loop(client, counts) -> None:
        stop = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < stop:
            response = await client.get(API_PATHS[i % len(API_PATHS)])
            counts["ok" if response.status_code == 200 else "errors"] += 1
            i += 1

    async def main() -> dict:
        counts = {"ok": 0, "errors": 0}
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=10) as client:
            await asyncio.gather(*(loop(client, counts) for _ in range(connections)))
        return counts

    results.put(asyncio.run(main()))


def measure_read_api(dsn: str, workers: int, seconds: float, log_dir: Path) -> dict:
    """Requests/s of `python -m read_api --workers N` under two client processes."""
    port = free_port()
    api = service(log_dir, f"read-api-{workers}", "read_api", "--pg", dsn, "--port", str(port),
                  "--workers", str(workers), "--anonymous-rate", "1000000")
    try:
        wait_for_port(port, 60, process=api, name="read_api")
        time.sleep(1.0 + workers)  # every worker up and its pool open
        results = multiprocessing.Queue()
        clients = [multiprocessing.Process(target=_client_load, args=(port, seconds, 16, results))
                   for _ in range(2)]
        for client in clients:
            client.start()
        counts = [results.get(timeout=seconds + 60) for _ in clients]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as probe:  # name a failure, if any
            sample = {path: probe.get(path).status_code for path in API_PATHS}
        for client in clients:
            client.join()
        ok, errors = sum(c["ok"] for c in counts), sum(c["errors"] for c in counts)
        return {"req_per_s": round(ok / seconds, 1), "errors": errors, "statuses": sample}
    finally:
        stop_process(api)


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
        futures = []
        for event in batch:
            subject, data = to_message(event)
            futures.append(await js.publish_async(subject, data, headers={"Nats-Msg-Id": str(event.position)}))
            if len(futures) >= 2000:
                await asyncio.gather(*futures)
                futures = []
        await asyncio.gather(*futures)

    conn = psycopg.connect(dsn, autocommit=True)
    running = []
    try:
        # Warm: every process starts and projects the first 5%; then they are paused
        await publish(warm)
        for index, markets in enumerate(partitions):
            argv = ["--markets", ",".join(markets)] if markets else []
            running.append(service(log_dir, f"partition-{label}-{index}", "projections.run", PROJECTOR,
                                   "--nats", nats_url, "--pg", dsn, *argv))
        await until(lambda: _at_least(_served_through(conn), warm[-1].position), 60, "the warm-up", 0.05)
        for process in running:
            os.kill(process.pid, signal.SIGSTOP)
        # The backlog: published while paused, then projected from resuming until consistent
        await publish(rest)
        resumed = time.perf_counter()
        for process in running:
            os.kill(process.pid, signal.SIGCONT)
        await until(lambda: _at_least(_served_through(conn), rest[-1].position), 300, "the backlog", 0.01)
        seconds = time.perf_counter() - resumed
        return {"processes": len(partitions), "events": len(rest), "events_per_s": round(len(rest) / seconds, 1)}
    finally:
        conn.close()
        await nc.close()
        for process in running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGCONT)
            stop_process(process)


def _served_through(conn) -> int:
    """How far `read.position_trades` says the whole model is complete (all partitions together)."""
    try:
        row = conn.execute(f"SELECT consistent_through FROM read.position_{PROJECTOR}").fetchone()
    except psycopg.errors.UndefinedTable:
        return 0
    return row[0] if row and row[0] else 0


def run_partitions(base: Path, postgres: Postgres, orders: int) -> dict:
    """The trades projector as one process, then as two market partitions."""
    server = NatsServer(base / "partitions", log_file=base / "partitions.log").start()
    try:
        return {count: asyncio.run(measure_partitions(server.url, postgres, partitions, orders, base))
                for count, partitions in ((1, [()]), (2, [("BTC-PERP",), ("SOL-PERP",)]))}
    finally:
        server.stop()


def run_all(base: Path, commands: int, api_seconds: float,
            projection_orders: int = 4000) -> tuple[dict, dict, dict, dict]:
    """Both topologies, the projection with one and two processes, the read API with one and two."""
    postgres = Postgres(base / "pg", log_file=base / "pg.log", settings=FAST_UNSAFE_SETTINGS).start()
    try:
        single = NatsServer(base / "single", log_file=base / "single.log").start()
        try:
            one = asyncio.run(run_topology("single", [single.url], postgres.create_database("scale_single"),
                                           1, commands, base))
        finally:
            single.stop()
        print(f"single node:   {one}", flush=True)
        cluster_dsn = postgres.create_database("scale_cluster")
        with NatsCluster(base / "cluster").start() as cluster:
            three = asyncio.run(run_topology("cluster", cluster.urls, cluster_dsn, 3, commands, base))
        print(f"3-node R3:     {three}", flush=True)
        api = {workers: measure_read_api(cluster_dsn, workers, api_seconds, base) for workers in (1, 2)}
        print(f"read API:      {api}", flush=True)
        partitions = run_partitions(base, postgres, projection_orders)
        print(f"projection partitions: {partitions}", flush=True)
        return one, three, api, partitions
    finally:
        postgres.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=4000, help="commands per topology")
    parser.add_argument("--api-seconds", type=float, default=4.0, help="read API load per run")
    parser.add_argument("--keep", action="store_true", help="keep the servers' and services' logs")
    parser.add_argument("--projection-orders", type=int, default=4000,
                        help="orders of the synthetic session projected by 1 vs 2 partitions")
    args = parser.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="qd-bench-scale-"))
    print(f"logs in {base}", flush=True)
    try:
        one, three, api, partitions = run_all(base, args.commands, args.api_seconds, args.projection_orders)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    emit(bench="scale", value=three["commands_per_s"], unit="commands/s", limit=one["commands_per_s"],
         commands=args.commands, single_node_commands_per_s=one["commands_per_s"],
         cluster_commands_per_s=three["commands_per_s"],
         projection_single_events_per_s=one["projection_events_per_s"],
         projection_cluster_events_per_s=three["projection_events_per_s"],
         read_api_req_per_s_1_process=api[1]["req_per_s"], read_api_req_per_s_2_processes=api[2]["req_per_s"],
         read_api_scaling=round(api[2]["req_per_s"] / api[1]["req_per_s"], 2) if api[1]["req_per_s"] else None,
         read_api_errors=api[1]["errors"] + api[2]["errors"],
         projection_1_process_events_per_s=partitions[1]["events_per_s"],
         projection_2_partitions_events_per_s=partitions[2]["events_per_s"],
         projection_scaling=round(partitions[2]["events_per_s"] / partitions[1]["events_per_s"], 2))


if __name__ == "__main__":
    main()
