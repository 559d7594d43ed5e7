"""The PostgreSQL event store the engine writes (eventsourcing, psycopg), and what it reads back.

Tables (schema `public`, created at start-up by eventsourcing if missing):

    exchange_events     originator_id uuid, originator_version bigint, topic text, state bytea,
                        notification_id bigserial;  PRIMARY KEY (originator_id, originator_version),
                        UNIQUE (notification_id).  Every domain event and every command receipt.
    exchange_tracking   application_name text PRIMARY KEY, notification_id bigint.
                        Row `engine`: the commands-stream sequence of the last applied command.
    exchange_snapshots  originator_id, originator_version, topic, state (aggregate snapshots).

Exactly-once: a batch's events, its receipts and the tracking row are inserted in ONE transaction
(one call of the `qd_engine_commit` function, `bus.store_commit`). The tracking upsert only moves
forward (`WHERE notification_id < new`), so a second, stale engine cannot commit over a newer
one: its transaction fails and it restarts from the store. Other writers (tests, tools) go
through eventsourcing's recorder, which takes the same table lock.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import ProcessRecorder, StoredEvent
from eventsourcing.postgres import PostgresProcessRecorder
from psycopg.sql import SQL, Identifier
from eventsourcing.utils import get_topic
from eventsourcing.persistence import IntegrityError
from psycopg.conninfo import conninfo_to_dict

from audit.chain import install_chain
from bus import store_commit
from bus.engine_transcoder import FastEventEncoder, FastJSONTranscoder
from commands.receipts import CommandReceipt

log = logging.getLogger(__name__)

APPLICATION_NAME = "Exchange"  # table prefix: exchange_events, exchange_tracking, ...
ENGINE_TRACKING_NAME = "engine"  # the tracking row of the commands stream position
EVENTS_TABLE = "exchange_events"
TRACKING_TABLE = "exchange_tracking"
RECEIPT_TOPIC = get_topic(CommandReceipt.Recorded)


def store_environment(dsn: str) -> dict[str, str]:
    """eventsourcing's environment for a psycopg conninfo string or URL."""
    parts = conninfo_to_dict(dsn)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.get("dbname", "postgres"),
        "POSTGRES_HOST": parts.get("host", "127.0.0.1"),
        "POSTGRES_PORT": str(parts.get("port", "5432")),
        "POSTGRES_USER": parts.get("user", "postgres"),
        "POSTGRES_PASSWORD": parts.get("password", ""),
        "POSTGRES_POOL_SIZE": "3",
        "POSTGRES_MAX_OVERFLOW": "2",
        # Inserting through a DB function would bypass the tracking row: keep it off.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "CREATE_TABLE": "y",
        "IS_SNAPSHOTTING_ENABLED": "y",  # exchange_snapshots: the repository starts from them
    }


SCHEMA_LOCK = 0x5144_0001  # advisory lock key: "QD", 1 (creating the store's tables)


@contextmanager
def schema_lock(dsn: str) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock while the store's tables are created if missing:
    eventsourcing's `CREATE TABLE IF NOT EXISTS` is not safe against a concurrent creator
    (the loser fails on the table's row type), so the processes take turns."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


class EngineRecorder(PostgresProcessRecorder):
    """eventsourcing's process recorder, inserting a batch as four binary arrays.

    The stock recorder sends a composite-type array in text form, whose quoting costs ~40 us per
    event in Python; four binary arrays (uuid[], bigint[], text[], bytea[]) cost a few. Same
    table, same lock (insert order = commit order for readers tailing the log), same tracking
    row in the same transaction. Also the place where the audit's hash chain can be appended.
    """

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[Any], **_: Any) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(
            self._insert_arrays_statement,
            (
                [event.originator_id for event in stored_events],
                [event.originator_version for event in stored_events],
                [event.topic for event in stored_events],
                [event.state for event in stored_events],
            ),
            binary=True,
        )

    @property
    def _insert_arrays_statement(self) -> Any:
        return SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))


class ExchangeStore(Application):
    """The event-sourced store of the whole exchange (domain aggregates + command receipts)."""

    name = APPLICATION_NAME

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.committer: store_commit.Committer | None = None  # opened by the first commit
        self._receipt_lookup: psycopg.Cursor | None = None  # opened by the first look-up
        with schema_lock(dsn):  # the engine and the relay start together on a fresh database
            super().__init__(env=store_environment(dsn))
        # The engine's encoder of new events: the mapper's output in one pass (same bytes).
        if self.mapper.compressor is None and self.mapper.cipher is None:
            self.encode_event = FastEventEncoder(self.mapper.transcoder)
        else:
            self.encode_event = self.mapper.to_stored_event

    def construct_transcoder(self) -> FastJSONTranscoder:
        """eventsourcing's JSON format, through msgspec (see bus.engine_transcoder)."""
        transcoder = FastJSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def construct_recorder(self) -> ProcessRecorder:
        """A process recorder: events and a tracking position in one transaction."""
        recorder = EngineRecorder(
            datastore=self.factory.datastore,
            events_table_name=EVENTS_TABLE,
            tracking_table_name=TRACKING_TABLE,
        )
        recorder.create_table()
        # The audit hash chain is filled by a trigger in the insert transaction (audit.chain).
        with recorder.datastore.get_connection() as connection:
            install_chain(connection, EVENTS_TABLE)
            store_commit.install(connection, EVENTS_TABLE, TRACKING_TABLE)
        return recorder

    # --- writing ------------------------------------------------------------------------------
    def commit(self, events: Sequence[Any], last_seq: int) -> list[int]:
        """Insert `events` (domain event objects, or StoredEvents already encoded by
        `self.mapper`) and move the engine position to `last_seq`, in ONE transaction.

        Returns the notification ids the events got, in the order given.
        """
        stored = [event if isinstance(event, StoredEvent) else self.encode_event(event)
                  for event in events]
        if self.committer is None:
            self.committer = store_commit.Committer(self.dsn)
        return self.committer.commit(stored, ENGINE_TRACKING_NAME, last_seq)

    def close(self) -> None:
        if self.committer is not None:
            self.committer.close()
        if self._receipt_lookup is not None:
            self._receipt_lookup.connection.close()
        super().close()

    def encode_snapshot(self, aggregate: Any) -> Any:
        """The stored form of a snapshot of `aggregate` as it is now (bytes taken at once)."""
        snapshot = type(aggregate).Snapshot.take(aggregate)
        return self.snapshots.mapper.to_stored_event(snapshot)

    def save_snapshots(self, stored_snapshots: Sequence[Any]) -> None:
        """Store encoded snapshots (after the commit of the events they include)."""
        for stored in stored_snapshots:
            try:
                self.snapshots.recorder.insert_events([stored])
            except IntegrityError:  # the same version re-applied after a restart: same state
                pass

    # --- reading ------------------------------------------------------------------------------
    def position(self) -> int:
        """The commands stream sequence of the last command whose effects are committed."""
        return self.recorder.max_tracking_id(ENGINE_TRACKING_NAME) or 0

    def existing_receipts(self, receipt_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Any]:
        """The stored receipts among `receipt_ids` (one indexed query for a whole batch)."""
        ids = list(receipt_ids)
        if not ids:
            return {}
        rows = self._query(
            f"SELECT originator_id, originator_version, topic, state FROM {EVENTS_TABLE} "
            "WHERE originator_id = ANY(%b) AND originator_version = 1",
            (ids,),
        )
        found = {}
        for row in rows:
            if row["topic"] != RECEIPT_TOPIC:
                continue
            found[row["originator_id"]] = self._to_event(row)
        return found

    def stored_receipt_ids(self, receipt_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        """Which of `receipt_ids` have a stored receipt: the engine intake's look-up, once per
        chunk of new commands. Ids only, a prepared statement, on a connection of its own (no
        pool round): about half the CPU of `existing_receipts`. A broken connection raises; the
        engine then restarts with a new store."""
        if self._receipt_lookup is None:
            self._receipt_lookup = psycopg.connect(self.dsn, autocommit=True).cursor()
        self._receipt_lookup.execute(
            f"SELECT originator_id FROM {EVENTS_TABLE} "
            "WHERE originator_id = ANY(%b::uuid[]) AND originator_version = 1 AND topic = %b",
            (receipt_ids, RECEIPT_TOPIC), prepare=True, binary=True)
        return {row[0] for row in self._receipt_lookup.fetchall()}

    def notification_ids_of(self, refs: Iterable[tuple[uuid.UUID, int]]) -> list[int]:
        """Log positions of the given (originator_id, version) events, ascending."""
        pairs = list(refs)
        if not pairs:
            return []
        ids = [pair[0] for pair in pairs]
        versions = [pair[1] for pair in pairs]
        rows = self._query(
            f"SELECT e.notification_id FROM {EVENTS_TABLE} e "
            "JOIN unnest(%s::uuid[], %s::bigint[]) AS k(id, v) "
            "ON e.originator_id = k.id AND e.originator_version = k.v "
            "ORDER BY e.notification_id",
            (ids, versions),
        )
        return [row["notification_id"] for row in rows]

    def aggregate_ids(self) -> list[tuple[uuid.UUID, str]]:
        """Every domain aggregate in the store (id, topic of its created event), in log order."""
        rows = self._query(
            f"SELECT originator_id, topic FROM {EVENTS_TABLE} "
            "WHERE originator_version = 1 AND topic <> %s ORDER BY notification_id",
            (RECEIPT_TOPIC,),
        )
        return [(row["originator_id"], row["topic"]) for row in rows]

    def _query(self, sql: str, params: tuple) -> list[dict]:
        datastore = self.recorder.datastore
        with datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    def _to_event(self, row: dict) -> Any:
        return self.mapper.to_domain_event(
            StoredEvent(
                originator_id=row["originator_id"], originator_version=row["originator_version"],
                topic=row["topic"], state=bytes(row["state"]),
            )
        )
