"""Relay throughput: events/s from the PostgreSQL log to QD_EVT, against bare JetStream publishing.

    python -m bus.relay_bench [--events 50000] [--window 1000]

Fills a throwaway store (own nats-server and PostgreSQL) with ``--events`` account events, then
measures (1) the relay publishing all of them exactly once (read + route + encode + publish +
ack, expected-last-sequence on every message) and (2) the limit: asynchronous JetStream publishes
of the same, already encoded messages (same msg ids, same windows, every ack awaited) to a stream
of the same configuration. nats-py's ``publish_async`` on the same messages is reported beside it
(``natspy_publish_async_eps``); it is slower than our pipelined publisher, so it is not the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import nats
from eventsourcing.domain import Aggregate, event

from bench.report import emit
from bus import streams
from bus.event_store import ExchangeStore
from bus.relay import Relay
from bus.relay_publisher import PipelinedPublisher
from bus.relay_source import StoreSource
from deploy.local.nats import NatsServer
from deploy.local.postgres import FAST_UNSAFE_SETTINGS, Postgres


class Account(Aggregate):
    """A minimal account: what the benchmark stores (the relay reads any aggregate's events)."""

    @event("Opened")
    def __init__(self, owner: str, at: int, seq: int) -> None:
        self.owner = owner

    @event("Deposited")
    def deposit(self, amount: int, at: int, seq: int) -> None:
        pass


def fill(store: ExchangeStore, events: int, per_save: int = 500) -> None:
    """``events`` deposits on 100 accounts, committed ``per_save`` at a time."""
    accounts = [Account(f"owner{i}", at=0, seq=i) for i in range(100)]
    store.save(*accounts)
    written, step = len(accounts), 0
    while written < events:
        for _ in range(per_save // len(accounts)):
            for account in accounts:
                step += 1
                account.deposit(step, at=step, seq=step)
        store.save(*accounts)
        written += per_save


class _UpTo:
    """A source that stops at a log position (so the relay can be timed segment by segment)."""

    def __init__(self, source: StoreSource) -> None:
        self.source, self.stop = source, 0

    def read(self, after: int, limit: int) -> list:
        return [message for message in self.source.read(after, limit) if message.position <= self.stop]


async def measure(nats_url: str, store: ExchangeStore, window: int, segments: int = 4) -> dict:
    """Relay and limit timed in alternating segments, so a shift in machine load hits both."""
    connection = await nats.connect(nats_url)
    js = connection.jetstream(publish_async_max_pending=2 * window)
    await streams.declare(js)
    source = StoreSource(store.recorder, store.mapper)
    outgoing = source.read(0, source.max_position())  # the limit's messages, encoded up front
    for name, prefix in (("QD_EVT_LIMIT", "limit"), ("QD_EVT_LIMIT_NATSPY", "natspy")):
        await js.add_stream(streams.EVENTS.evolve(name=name, subjects=[f"{prefix}.>"],
                                                  deny_purge=False, deny_delete=False))
    publisher = await PipelinedPublisher(connection).start()
    bounded = _UpTo(StoreSource(store.recorder, store.mapper))
    relay = Relay(connection, bounded, window=window)
    await relay.resume()
    seconds = {"relay": 0.0, "limit": 0.0, "natspy": 0.0}
    size = -(-len(outgoing) // segments)
    for start in range(0, len(outgoing), size):
        segment = outgoing[start:start + size]
        # The relay: store read + route + encode + publish with expected sequence + ack check.
        bounded.stop = segment[-1].position
        began = time.perf_counter()
        await relay.relay_available()
        seconds["relay"] += time.perf_counter() - began
        # The limit: the same encoded messages and msg ids, the same pipelining (windows, two in
        # flight, every ack awaited), but no store read, no routing, no sequence check.
        seconds["limit"] += await _timed_windows(segment, window, lambda message: publisher.publish(
            "limit." + message.subject, message.data, {"Nats-Msg-Id": str(message.position)}))
        # For reference: nats-py's own publish_async on the same messages.
        seconds["natspy"] += await _timed_windows(segment, window, lambda message: js.publish_async(
            "natspy." + message.subject, message.data,
            headers={"Nats-Msg-Id": str(message.position)}))
    await connection.close()
    return {"events": relay.published, "stored": len(outgoing), "relay_seconds": seconds["relay"],
            "limit_seconds": seconds["limit"], "natspy_seconds": seconds["natspy"]}


async def _timed_windows(outgoing: list, window: int, publish) -> float:
    """Seconds to publish everything in windows, two in flight, awaiting every ack."""
    started = time.perf_counter()
    in_flight: list[list] = []
    for start in range(0, len(outgoing), window):
        in_flight.append([await publish(message) for message in outgoing[start:start + window]])
        if len(in_flight) == 2:
            await asyncio.gather(*in_flight.pop(0))
    for futures in in_flight:
        await asyncio.gather(*futures)
    return time.perf_counter() - started


def _run(coroutine):
    """uvloop when available (as the relay process runs), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main() -> None:
    """Run the benchmark and print its JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--window", type=int, default=2000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qd-relay-bench-") as directory:
        root = Path(directory)
        server = NatsServer(root / "nats", log_file=root / "nats.log").start()
        postgres = Postgres(root / "pg", log_file=root / "pg.log", settings=FAST_UNSAFE_SETTINGS).start()
        try:
            store = ExchangeStore(postgres.create_database("relay_bench"))
            fill(store, options.events)
            result = _run(measure(server.url, store, options.window))
            store.close()
        finally:
            server.stop()
            postgres.stop()
    value = round(result["events"] / result["relay_seconds"])
    limit = round(result["events"] / result["limit_seconds"])
    emit(bench="relay", value=value, unit="events/s", limit=limit, events=result["events"],
         window=options.window, relay_s=round(result["relay_seconds"], 3),
         limit_s=round(result["limit_seconds"], 3),
         natspy_publish_async_eps=round(result["events"] / result["natspy_seconds"]))


if __name__ == "__main__":
    main()
