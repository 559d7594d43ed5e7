"""bench.scale's first phases, on one topology (a single nats-server, or a three-node R3
cluster): commands/s end to end through the real engine and relay processes, then events/s of
the real trades projector catching up the backlog the load left (see bench/scale.py)."""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from pathlib import Path

import msgspec
import nats
import psycopg
from solders.keypair import Keypair

from bench.pipeline_progress import (
    PROJECTOR,
    at_least,
    consistent_through,
    engine_position,
    has_tracking,
    last_position,
    until,
)
from bench.service_processes import service, stop_services
from bench.signed_commands import orders, publish_all, set_up
from bus import streams
from bus.engine import RPC_STATE

BOTS = 8


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
        await until(lambda: at_least(engine_position(conn) if has_tracking(conn) else 0, last), 60,
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
        await until(lambda: at_least(consistent_through(conn), last_position(conn)), 60,
                    "the projector to project the set-up", 0.05)
        os.kill(projector.pid, signal.SIGSTOP)
        projected_before = (await js.stream_info(streams.EVENTS_STREAM)).state.messages

        # End to end: publish everything; stop when committed and relayed
        started = time.perf_counter()
        await publish_all(js, load)
        last = (await js.stream_info(streams.COMMANDS_STREAM)).state.last_seq
        await until(lambda: at_least(engine_position(conn), last), 300, "the engine to commit the load")
        await until(relayed, 300, "the relay to publish every event")
        elapsed = time.perf_counter() - started
        events = (await js.stream_info(streams.EVENTS_STREAM)).state.messages
        backlog = events - projected_before
        outcomes = msgspec.json.decode((await nc.request(RPC_STATE, b"", timeout=30)).data)

        # Projection: the backlog, from resuming the projector until it is consistent again
        resumed = time.perf_counter()
        os.kill(projector.pid, signal.SIGCONT)
        target = last_position(conn)
        await until(lambda: at_least(consistent_through(conn), target), 300, "the projector to catch up", 0.01)
        projection = round(backlog / (time.perf_counter() - resumed), 1)
        # The markets read model too, so that the read API knows the market (not measured)
        running.append(service(log_dir, f"{label}-markets", "projections.run", "markets",
                               "--nats", urls[0], "--pg", dsn))
        await until(lambda: at_least(consistent_through(conn, "markets"), target), 120,
                    "the markets projector", 0.05)
        return {"commands_per_s": round(commands / elapsed, 1), "events": events,
                "accepted": outcomes.get("accepted"), "rejections": outcomes.get("rejections"),
                "projected_backlog": backlog, "projection_events_per_s": projection}
    finally:
        conn.close()
        await nc.close()
        stop_services(running)
