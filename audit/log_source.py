"""Reading the log for an audit: stored events paired with their chain rows, in log order.

`StoreLog` streams two index-ordered server-side cursors (events, chain) inside one REPEATABLE
READ transaction and merges them by position, so a replay sees one consistent snapshot however
long it runs and however much the engine writes meanwhile, starts at once and never sorts the
log. A position whose event or chain row was deleted still appears (the other half None), so
verification can name it. A thread reads and merges the next batch while the caller works.
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
from psycopg import sql

from audit.chain import LogRow, chain_table_name

DEFAULT_EVENTS_TABLE = "exchange_events"
_BATCH = 5000
_NO_CHAIN = (None, None)


@dataclass(frozen=True)
class StoreLog:
    """The event log of one eventsourcing events table (and its chain) in PostgreSQL."""

    dsn: str
    events_table: str = DEFAULT_EVENTS_TABLE
    schema: str = "public"

    def rows(self, up_to: int | None = None, with_chain: bool = True, *,
             snapshot: str | None = None,
             on_snapshot: Callable[[str], None] | None = None) -> Iterator[LogRow]:
        """Every position from genesis to `up_to` (inclusive; None = the end), in order.

        `on_snapshot` receives the id of the transaction snapshot read (pg_export_snapshot),
        so another reader given it as `snapshot` sees exactly the same rows; when `snapshot`
        is given, `on_snapshot` is called once it is imported."""
        with psycopg.connect(self.dsn) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.transaction():
                if snapshot is not None:
                    conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
                if on_snapshot is not None:
                    on_snapshot(snapshot or conn.execute("SELECT pg_export_snapshot()").fetchone()[0])
                has_chain = with_chain and self._has_chain(conn)
                ids: dict[bytes, uuid.UUID] = {}  # few aggregates, many events: build each once
                for batch in _prefetched(lambda: self._merged(conn, has_chain, up_to)):
                    for position, raw_id, version, topic, state, prev_hash, hash_ in batch:
                        originator_id = ids.get(raw_id) if raw_id is not None else None
                        if originator_id is None and raw_id is not None:
                            originator_id = ids[raw_id] = uuid.UUID(bytes=raw_id)
                        yield LogRow(position, originator_id, version, topic, state, prev_hash, hash_)

    def max_position(self) -> int:
        """The highest stored position (0 for an empty store)."""
        with psycopg.connect(self.dsn) as conn:
            query = sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(
                sql.Identifier(self.schema, self.events_table))
            return conn.execute(query).fetchone()[0]

    def has_chain(self) -> bool:
        """True when the chain table of this events table exists."""
        with psycopg.connect(self.dsn) as conn:
            return self._has_chain(conn)

    def _has_chain(self, conn: psycopg.Connection) -> bool:
        found = conn.execute("SELECT to_regclass(%s)", (
            f"{self.schema}.{chain_table_name(self.events_table)}",)).fetchone()[0]
        return found is not None

    def _merged(self, conn: psycopg.Connection, has_chain: bool, up_to: int | None) -> Iterator[tuple]:
        """(position, id bytes, version, topic, state, prev_hash, hash) in position order."""
        bound = sql.SQL(" WHERE notification_id <= {}").format(sql.Literal(up_to)) \
            if up_to is not None else sql.SQL("")
        events = self._cursor(conn, "audit_events", sql.SQL(
            "SELECT notification_id, uuid_send(originator_id), originator_version, topic, state"
            " FROM {table}{bound} ORDER BY notification_id").format(
                table=sql.Identifier(self.schema, self.events_table), bound=bound))
        if not has_chain:
            for event in events:
                yield (*event, None, None)
            return
        chain = self._cursor(conn, "audit_chain", sql.SQL(
            "SELECT notification_id, prev_hash, hash FROM {table}{bound} ORDER BY notification_id"
        ).format(table=sql.Identifier(self.schema, chain_table_name(self.events_table)),
                 bound=bound))
        yield from merge_by_position(events, chain)

    @staticmethod
    def _cursor(conn: psycopg.Connection, name: str, query: sql.Composed) -> Iterator[tuple]:
        cursor = conn.cursor(name=name, binary=True)
        cursor.itersize = _BATCH
        cursor.execute(query)
        return iter(cursor)


def merge_by_position(events: Iterator[tuple], chain: Iterator[tuple]) -> Iterator[tuple]:
    """Pair event rows (position, ...5 fields) with chain rows (position, prev, hash), both in
    position order; a side that lacks a position yields Nones for it."""
    event = next(events, None)
    link = next(chain, None)
    while event is not None or link is not None:
        if link is None or (event is not None and event[0] < link[0]):
            yield (*event, *_NO_CHAIN)
            event = next(events, None)
        elif event is None or link[0] < event[0]:
            yield (link[0], None, None, None, None, link[1], link[2])
            link = next(chain, None)
        else:
            yield (*event, link[1], link[2])
            event, link = next(events, None), next(chain, None)


def _prefetched(produce: Callable[[], Iterator[tuple]]) -> Iterator[list]:
    """Batches of the produced rows, made by a thread while the caller works on the previous
    batch (waiting for the server releases the GIL, so reading overlaps replaying)."""
    batches: queue.Queue = queue.Queue(maxsize=3)
    stop = threading.Event()

    def fetch() -> None:
        try:
            batch: list = []
            for row in produce():
                batch.append(row)
                if len(batch) >= _BATCH:
                    batches.put(batch)
                    batch = []
                    if stop.is_set():
                        return
            batches.put(batch)
            batches.put(None)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, re-raised there
            batches.put(error)

    reader = threading.Thread(target=fetch, name="audit-log-reader", daemon=True)
    reader.start()
    try:
        while (batch := batches.get()) is not None:
            if isinstance(batch, BaseException):
                raise batch
            yield batch
    finally:
        stop.set()
        while reader.is_alive():  # a consumer that stopped early: let the reader finish
            try:
                batches.get(timeout=0.1)
            except queue.Empty:
                pass
