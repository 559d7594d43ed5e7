"""Reading the log for an audit: stored events joined with their chain rows, in log order.

`StoreLog` streams rows from PostgreSQL through a server-side cursor inside one REPEATABLE READ
transaction, so a replay sees one consistent snapshot however long it runs and however much the
engine writes meanwhile. The FULL JOIN keeps a position whose event or chain row was deleted,
so verification can name it.
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
                query = self._query(has_chain, up_to)
                ids: dict[bytes, uuid.UUID] = {}  # few aggregates, many events: build each once
                with conn.cursor(name="audit_log", binary=True) as cursor:
                    cursor.itersize = _BATCH
                    cursor.execute(query, (up_to,) if up_to is not None else None)
                    for batch in _prefetched(cursor):
                        for row in batch:
                            raw_id = row[1]
                            originator_id = ids.get(raw_id) if raw_id is not None else None
                            if originator_id is None and raw_id is not None:
                                originator_id = ids[raw_id] = uuid.UUID(bytes=raw_id)
                            if has_chain:
                                yield LogRow(row[0], originator_id, row[2], row[3], row[4],
                                             row[5], row[6])
                            else:
                                yield LogRow(row[0], originator_id, row[2], row[3], row[4])

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

    def _query(self, has_chain: bool, up_to: int | None) -> sql.Composed:
        events = sql.Identifier(self.schema, self.events_table)
        if not has_chain:
            where = sql.SQL(" WHERE e.notification_id <= %s") if up_to is not None else sql.SQL("")
            return sql.SQL(
                "SELECT e.notification_id, uuid_send(e.originator_id), e.originator_version, e.topic,"
                " e.state FROM {events} e{where} ORDER BY e.notification_id"
            ).format(events=events, where=where)
        chain = sql.Identifier(self.schema, chain_table_name(self.events_table))
        where = (sql.SQL(" WHERE coalesce(e.notification_id, c.notification_id) <= %s")
                 if up_to is not None else sql.SQL(""))
        return sql.SQL(
            "SELECT coalesce(e.notification_id, c.notification_id), uuid_send(e.originator_id),"
            " e.originator_version, e.topic, e.state, c.prev_hash, c.hash"
            " FROM {events} e FULL JOIN {chain} c ON c.notification_id = e.notification_id"
            "{where} ORDER BY 1"
        ).format(events=events, chain=chain, where=where)


def _prefetched(cursor: psycopg.Cursor) -> Iterator[list]:
    """Batches of rows, the next one fetched by a thread while the caller works on this one
    (the wait for the server releases the GIL, so reading overlaps replaying)."""
    batches: queue.Queue = queue.Queue(maxsize=3)

    def fetch() -> None:
        try:
            while batch := cursor.fetchmany(_BATCH):
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
        while reader.is_alive():  # a consumer that stopped early: let the reader finish
            try:
                batches.get(timeout=0.1)
            except queue.Empty:
                pass
