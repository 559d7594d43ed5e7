"""Relay throughput: events/s from the PostgreSQL log to QD_EVT, against bare JetStream publishing.

    python -m bus.relay_bench [--events 50000] [--window 1000]

Fills a throwaway store (own nats-server and PostgreSQL) with ``--events`` account events, then
measures (1) the relay publishing all of them exactly once (read + route + encode + publish +
ack, expected-last-sequence on every message) and (2) the limit: ``publish_async`` of the same,
already encoded messages to a stream of the same configuration, awaiting every ack.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import nats

from bench.report import emit
from bus import streams
from bus.event_store import ExchangeStore
from bus.relay import Relay
from bus.relay_source import StoreSource
from deploy.local.nats import NatsServer
from deploy.local.postgres import FAST_UNSAFE_SETTINGS, Postgres
from tests.integration.relay.ledger import Account


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


async def measure(nats_url: str, store: ExchangeStore, window: int) -> dict:
    connection = await nats.connect(nats_url)
    js = connection.jetstream(publish_async_max_pending=2 * window)
    await streams.declare(js)
    source = StoreSource(store.recorder, store.mapper)
    total = source.max_position()

    relay = Relay(connection, source, window=window)
    await relay.resume()
    started = time.perf_counter()
    relayed = await relay.relay_available()
    relay_seconds = time.perf_counter() - started

    # The limit: the same encoded messages, bare publish_async, to a twin stream.
    outgoing = source.read(0, total)
    twin = streams.EVENTS.evolve(name="QD_EVT_LIMIT", subjects=["limit.>"], deny_purge=False,
                                 deny_delete=False)
    await js.add_stream(twin)
    started = time.perf_counter()
    for start in range(0, len(outgoing), window):
        futures = [
            await js.publish_async("limit." + message.subject, message.data,
                                   headers={"Nats-Msg-Id": str(message.position)})
            for message in outgoing[start:start + window]
        ]
        await asyncio.gather(*futures)
    limit_seconds = time.perf_counter() - started
    await connection.close()
    return {"events": relayed, "stored": total, "relay_seconds": relay_seconds,
            "limit_seconds": limit_seconds}


def main() -> None:
    """Run the benchmark and print its JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--window", type=int, default=1000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qd-relay-bench-") as directory:
        root = Path(directory)
        server = NatsServer(root / "nats", log_file=root / "nats.log").start()
        postgres = Postgres(root / "pg", log_file=root / "pg.log", settings=FAST_UNSAFE_SETTINGS).start()
        try:
            store = ExchangeStore(postgres.create_database("relay_bench"))
            fill(store, options.events)
            result = asyncio.run(measure(server.url, store, options.window))
            store.close()
        finally:
            server.stop()
            postgres.stop()
    value = round(result["events"] / result["relay_seconds"])
    limit = round(result["events"] / result["limit_seconds"])
    emit(bench="relay", value=value, unit="events/s", limit=limit, events=result["events"],
         window=options.window, relay_s=round(result["relay_seconds"], 3),
         limit_s=round(result["limit_seconds"], 3))


if __name__ == "__main__":
    main()
