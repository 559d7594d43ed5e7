"""The relay: publishes every stored event, in log order, to ``QD_EVT`` exactly once.

    python -m bus.relay --nats nats://127.0.0.1:4222 --pg "host=127.0.0.1 port=5432 dbname=qd"
    (or env QD_NATS_URL, QD_PG_DSN)

Exactly once, without a position table of its own:

- **Resume from the stream.** At start (and after any doubt) the relay reads the events stream's
  last message; its ``Qd-Position`` header is the last log position published, its stream
  sequence the stream's head. The relay continues with the store's next notification after it.
  A position is therefore "recorded" only by the acknowledged publish itself.
- **Expected last sequence.** Message *i* of a run is published with
  ``Nats-Expected-Last-Sequence`` = head + *i*: the server stores it only directly after its
  predecessor. A stale relay (a zombie, a duplicate process, a publish that outlived its
  connection) cannot insert, reorder or skip: its publish fails and it resumes from the stream.
- **Msg id.** ``Nats-Msg-Id`` = position: a backstop dedup within the stream's window.

Throughput: publishes are asynchronous in windows (``--window`` messages), the next window is
read from PostgreSQL while the acks of the current one arrive, and up to two windows are in
flight; acks are checked in order (sequence must be exactly head + i, never a duplicate).
Wake-up: PostgreSQL ``LISTEN`` on the store's channel (eventsourcing NOTIFYs on every insert),
with a short poll as a backstop.

Known limits: one relay should run (a second one is safe but wastes work on failed publishes);
if the events stream is emptied while its sequence is non-zero (purge is denied, so only by
deleting and re-creating it differently) the relay refuses to guess and stops.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time
from collections import deque
from typing import Any

import psycopg
from nats.aio.client import Client
from nats.js import JetStreamContext
from psycopg import sql

from bus import nats_servers, streams, subjects
from bus.relay_publisher import PipelinedPublisher, PublishRefused
from bus.relay_source import Outgoing, StoreSource
from observability.health import add_metrics_port_option, serve_operations
from observability.metrics import RelayMetrics
from observability.logs import configure_logging
from observability.lifecycle import stop_on_signals

log = logging.getLogger("bus.relay")

EXPECTED_LAST_SEQUENCE = "Nats-Expected-Last-Sequence"


class RelayCannotResume(RuntimeError):
    """The events stream lost the message that tells where to resume."""


class Relay:
    """Publishes the store's notification log to the events stream, exactly once, in order."""

    def __init__(
        self,
        connection: Client,
        source: StoreSource,
        *,
        window: int = 2000,
        ack_timeout: float = 5.0,
        poll_interval: float = 0.25,
        metrics: RelayMetrics | None = None,
    ) -> None:
        self.js: JetStreamContext = connection.jetstream()
        self.publisher = PipelinedPublisher(connection)
        self.source = source
        self.window = window
        self.ack_timeout = ack_timeout
        self.poll_interval = poll_interval
        self.position = 0  # last log position known stored in the stream
        self.stream_seq = 0  # the stream's last sequence
        self.published = 0  # messages acknowledged in this process
        self.store_seen = 0  # highest log position read from the store so far
        self.synchronised = False  # resumed from the stream since the last failure
        self.metrics = metrics
        self.wake = asyncio.Event()

    async def resume(self) -> None:
        """Set position and head from the events stream's last message."""
        await self.publisher.start()
        state = (await self.js.stream_info(streams.EVENTS_STREAM)).state
        if state.messages == 0:
            if state.last_seq:
                raise RelayCannotResume(
                    f"{streams.EVENTS_STREAM} is empty at sequence {state.last_seq}: "
                    "the last published position is unknown"
                )
            self.position, self.stream_seq = 0, 0
            return
        last = await self.js.get_msg(streams.EVENTS_STREAM, seq=state.last_seq)
        position = (last.headers or {}).get(subjects.HEADER_POSITION)
        if position is None:
            raise RelayCannotResume(
                f"{streams.EVENTS_STREAM} message {state.last_seq} ({last.subject}) has no "
                f"{subjects.HEADER_POSITION} header: something other than the relay published it"
            )
        self.position = int(position)
        self.stream_seq = state.last_seq

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set; after any failure (NATS or PostgreSQL down, a refused
        publish) wait a moment and resynchronise from the stream: nothing is lost or repeated."""
        self.synchronised = False
        while not stop.is_set():
            try:
                if not self.synchronised:
                    await self.resume()
                    self.synchronised = True
                    log.info("relay resuming after position %d (stream seq %d)",
                             self.position, self.stream_seq)
                await self._relay_until_idle_or_failure(stop)
            except RelayCannotResume:
                raise
            except Exception as error:  # noqa: BLE001 - every failure is survived the same way
                log.warning("relay resynchronising after %r", error)
                self.synchronised = False
                await _sleep_unless(stop, 0.5)
                continue
            await _sleep_unless(self.wake, self.poll_interval)
            self.wake.clear()

    async def relay_available(self) -> int:
        """Relay everything stored now; returns how many messages were published."""
        before = self.published
        await self._relay_until_idle_or_failure(asyncio.Event())
        return self.published - before

    async def _relay_until_idle_or_failure(self, stop: asyncio.Event) -> None:
        """Pipeline: publish a window, read the next one while its acks arrive, confirm in order."""
        in_flight: deque[tuple[list[Outgoing], list[asyncio.Future], int]] = deque()
        next_position, next_seq = self.position, self.stream_seq
        reading: asyncio.Task | None = None
        try:
            batch = await asyncio.to_thread(self.source.read, next_position, self.window)
            while batch or in_flight:
                reading = None
                if batch and not stop.is_set():
                    futures = await self._publish(batch, next_seq)
                    in_flight.append((batch, futures, next_seq))
                    next_position, next_seq = batch[-1].position, next_seq + len(batch)
                    # A short window was all there was: what is stored later NOTIFYs (`wake`),
                    # so reading ahead would only find nothing, once per engine commit.
                    if len(batch) >= self.window:
                        reading = asyncio.create_task(
                            asyncio.to_thread(self.source.read, next_position, self.window)
                        )
                # Keep at most two windows in flight: confirm the oldest before going on.
                if len(in_flight) >= 2 or reading is None:
                    await self._confirm(*in_flight.popleft())
                batch = await reading if reading is not None else []
        finally:
            for _, futures, _ in in_flight:
                for future in futures:
                    future.cancel()
            if reading is not None:
                # A read abandoned by a failure: its result or error no longer matters.
                reading.add_done_callback(lambda task: task.cancelled() or task.exception())

    async def _publish(self, batch: list[Outgoing], head: int) -> list[asyncio.Future]:
        futures = []
        self.store_seen = max(self.store_seen, batch[-1].position)
        for offset, message in enumerate(batch):
            position = str(message.position)
            headers = {
                subjects.HEADER_MSG_ID: position,
                subjects.HEADER_POSITION: position,
                EXPECTED_LAST_SEQUENCE: str(head + offset),
            }
            futures.append(await self.publisher.publish(message.subject, message.data, headers))
        return futures

    async def _confirm(self, batch: list[Outgoing], futures: list[asyncio.Future], head: int) -> None:
        acks = await asyncio.wait_for(asyncio.gather(*futures), self.ack_timeout)
        for offset, (message, ack) in enumerate(zip(batch, acks)):
            if ack.duplicate or ack.seq != head + offset + 1 or ack.stream != streams.EVENTS_STREAM:
                raise PublishRefused(
                    0, 0, f"unexpected ack {ack} for position {message.position} at head {head + offset}"
                )
            self.position, self.stream_seq = message.position, ack.seq
            self.published += 1
        if self.metrics is not None:
            self.metrics.published_through(self.position, len(batch), max(self.store_seen, self.position))


async def _sleep_unless(event: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except asyncio.TimeoutError:
        pass


async def listen_for_inserts(dsn: str, channel: str, wake: asyncio.Event, stop: asyncio.Event) -> None:
    """Set ``wake`` on every NOTIFY of the store's channel; reconnect on failure."""
    while not stop.is_set():
        try:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as connection:
                await connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                async for _ in connection.notifies():
                    wake.set()
                    if stop.is_set():
                        return
        except (psycopg.Error, OSError) as error:
            log.warning("LISTEN %s failed (%r); polling until it reconnects", channel, error)
            await asyncio.sleep(1.0)


def open_source(dsn: str, attempts: int = 10) -> StoreSource:
    """The engine's store (bus.event_store) as a relay source."""
    from eventsourcing.persistence import PersistenceError

    from bus.event_store import ExchangeStore

    for attempt in range(attempts):
        try:
            store = ExchangeStore(dsn)
            break
        except PersistenceError:  # e.g. PostgreSQL still starting
            if attempt == attempts - 1:
                raise
            time.sleep(0.3)
    # The source holds the application: dropping it would close its connection pool.
    return StoreSource(store.recorder, store.mapper, owner=store)


async def main(nats_url: str, dsn: str, window: int, metrics_port: int = -1) -> None:
    """Bootstrap: connect, declare the streams, relay until SIGTERM/SIGINT."""
    connection = await nats_servers.connect(nats_url, "qd-relay")
    await streams.declare(connection.jetstream())
    source = await asyncio.to_thread(open_source, dsn)
    relay = Relay(connection, source, window=window, metrics=RelayMetrics())
    health = serve_operations(metrics_port, relay.metrics, log)
    if health is not None:
        health.readiness.add("nats_connected", lambda: connection.is_connected)
        health.readiness.add("resumed_from_stream", lambda: relay.synchronised)
    stop = stop_on_signals()
    channel = getattr(source.recorder, "channel_name", None)
    listener = asyncio.create_task(listen_for_inserts(dsn, channel, relay.wake, stop)) if channel else None

    async def wake_on_stop() -> None:
        await stop.wait()
        relay.wake.set()

    waker = asyncio.create_task(wake_on_stop())
    try:
        await relay.run(stop)
    finally:
        for task in (listener, waker):
            if task is not None:
                task.cancel()
        await connection.drain()


def _parse_args(argv: Any = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bus.relay", description=__doc__.splitlines()[0])
    parser.add_argument("--nats", default=os.environ.get("QD_NATS_URL", "nats://127.0.0.1:4222"),
                        help="NATS server URL (env QD_NATS_URL)")
    parser.add_argument("--pg", default=os.environ.get("QD_PG_DSN", ""),
                        help="PostgreSQL conninfo of the event store (env QD_PG_DSN)")
    parser.add_argument("--window", type=int, default=2000, help="messages per publish window")
    add_metrics_port_option(parser)
    arguments = parser.parse_args(argv)
    if not arguments.pg:
        parser.error("--pg (or QD_PG_DSN) is required")
    return arguments


if __name__ == "__main__":
    arguments = _parse_args()
    configure_logging("relay", "INFO")  # JSON lines (observability.logs)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    runner(main(arguments.nats, arguments.pg, arguments.window, arguments.metrics_port))
