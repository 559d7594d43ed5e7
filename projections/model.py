"""The shape every read model shares, and the transaction that applies a batch of events to it.

A read model is one class: its tables (DDL per flavour), one `on_<EventType>` method per event
type it handles (dispatch by the type's name), an in-memory batch the handlers fill, and a
`flush` that writes the batch with bulk, set-based SQL. `apply_batch` runs all of that and
records the position reached in the same transaction; events at or below the recorded position
are skipped, so applying a batch twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

import psycopg
from psycopg.pq import TransactionStatus

from projections.event import PoisonEvent, ProjectedEvent
from projections.flavour import Flavour
from projections.staging import Stager, forget_staging_tables


class ReadModel:
    """Base class: subclasses set `name`, `tables`, and define `ddl`, `on_<Type>`, `flush`."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]  # the relations readers see (views in the `read` schema)
    # Subjects the projector's consumer is filtered to; the default is the whole events stream.
    subjects: ClassVar[tuple[str, ...]] = ()

    def __init__(self, flavour: Flavour = Flavour.PLAIN) -> None:
        self.flavour = flavour
        self.markets: tuple[str, ...] = ()  # a partition applies only these markets' events (partition.py)

    @property
    def position_key(self) -> str:
        """Its row in `projection_position`: the model's name, or `<name>__<markets>` for a partition."""
        if not self.markets:
            return self.name
        return self.name + "__" + "_".join(re.sub(r"[^a-z0-9]", "_", m.lower()) for m in self.markets)

    def ddl(self, schema: str) -> list[str]:
        """CREATE statements for this model's tables inside `schema`."""
        raise NotImplementedError

    def new_batch(self) -> Any:
        """A fresh in-memory accumulator for one batch."""
        return {}

    def load(self, conn: psycopg.Connection, schema: str, batch: Any,
             events: Sequence[ProjectedEvent]) -> None:
        """Prefetch whatever current state the handlers need (one query per table, not per event)."""

    def flush(self, conn: psycopg.Connection, schema: str, batch: Any, stager: Stager) -> None:
        """Write the batch's rows with bulk, set-based statements."""
        raise NotImplementedError

    def handler(self, event: ProjectedEvent):
        """`on_<AggregateType>_<EventType>`, else `on_<EventType>`; None when this model ignores it.

        Generic names (`Created`, `Recorded`) are only handled with their aggregate's prefix."""
        return (getattr(self, f"on_{event.aggregate_type}_{event.type}", None)
                or getattr(self, f"on_{event.type}", None))

    def handled_types(self) -> list[str]:
        """Every event type this model has a handler for (`Aggregate_Event` or `Event`)."""
        return sorted(name[3:] for name in dir(self) if name.startswith("on_"))


POSITION_DDL = """CREATE TABLE IF NOT EXISTS {schema}.projection_position (
    projector text PRIMARY KEY,
    position bigint NOT NULL,
    events_applied bigint NOT NULL,
    stream_seq bigint NOT NULL DEFAULT 0,
    consistent_through bigint NOT NULL DEFAULT 0
)"""


def open_projector_connection(dsn: str) -> psycopg.Connection:
    """A connection for applying batches. `synchronous_commit = off` is safe here: a batch
    lost in a crash loses its rows and its position together, and is re-applied from the
    stream; other sessions see a commit at once either way."""
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute("SET synchronous_commit = off")
    return conn


def create_tables(conn: psycopg.Connection, model: ReadModel, schema: str) -> None:
    """Create the schema, the model's tables and its position row (idempotent)."""
    with conn.transaction():
        # Processes starting together (projector, read API) must not race on the same DDL.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (schema,))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.execute(POSITION_DDL.format(schema=schema))
        for statement in model.ddl(schema):
            conn.execute(statement)
        if model.markets:  # a new partition starts where the whole model had got to, if it ran
            conn.execute(f"INSERT INTO {schema}.projection_position SELECT %s, position, 0, stream_seq,"
                         f" consistent_through FROM {schema}.projection_position WHERE projector = %s"
                         " ON CONFLICT DO NOTHING", (model.position_key, model.name))
        conn.execute(f"INSERT INTO {schema}.projection_position VALUES (%s, 0, 0, 0, 0)"
                     " ON CONFLICT DO NOTHING", (model.position_key,))


def read_position(conn: psycopg.Connection, model: ReadModel, schema: str) -> tuple[int, int]:
    """(highest log position applied to `schema`, the events-stream sequence of that message)."""
    row = conn.execute(f"SELECT position, stream_seq FROM {schema}.projection_position"
                       " WHERE projector = %s", (model.position_key,)).fetchone()
    return (row[0], row[1]) if row else (0, 0)


def mark_consistent(conn: psycopg.Connection, model: ReadModel, schema: str, position: int) -> None:
    """Record that every event up to log `position` this model handles has been applied
    (it may have applied none of the last ones: they were for other read models)."""
    conn.execute(f"UPDATE {schema}.projection_position SET consistent_through ="
                 " greatest(consistent_through, %s) WHERE projector = %s", (position, model.position_key))


def apply_batch(conn: psycopg.Connection, model: ReadModel, schema: str,
                events: Sequence[ProjectedEvent], *, use_copy: bool = True,
                stream_seq: int = 0) -> int:
    """Apply `events` and record the position reached, in one transaction; returns that position.

    `stream_seq` is the events-stream sequence of the batch's last message: the projector
    restarts its consumer just after it. Raises PoisonEvent (naming the event) when a handler
    cannot apply one; the transaction is rolled back, so nothing of the batch is visible.

    Round trips are what a batch waits for on a busy machine, so the transaction's edges share
    theirs: `BEGIN` travels with the position lock and the position update with `COMMIT`
    (simple protocol; the only literals are ours: the schema, the model's name, integers).
    """
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise RuntimeError("apply_batch runs its own transaction: call it outside one")
    cursor = conn.execute(f"BEGIN; SELECT position FROM {schema}.projection_position"
                          f" WHERE projector = {_quote(model.position_key)} FOR UPDATE", prepare=False)
    try:
        cursor.nextset()  # the SELECT's result follows BEGIN's
        row = cursor.fetchone()
        if row is None:
            raise LookupError(f"no projection_position row for {model.position_key!r} in {schema}")
        position = row[0]
        fresh = [event for event in events if event.position > position]
        if not fresh:
            if stream_seq:  # only messages we had already applied: remember the stream is past them
                conn.execute(f"UPDATE {schema}.projection_position SET stream_seq ="
                             f" greatest(stream_seq, {int(stream_seq)})"
                             f" WHERE projector = {_quote(model.position_key)}; COMMIT", prepare=False)
            else:
                conn.execute("COMMIT")
            return position
        fresh.sort(key=lambda event: event.position)
        batch = model.new_batch()
        handled = [(event, model.handler(event)) for event in fresh]
        handled = [(event, method) for event, method in handled if method is not None]
        model.load(conn, schema, batch, [event for event, _ in handled])
        for event, method in handled:
            try:
                method(batch, event)
            except Exception as error:  # a handler bug or a malformed payload: stop, naming it
                raise PoisonEvent(model.name, event, error) from error
        model.flush(conn, schema, batch, Stager(conn, use_copy=use_copy))
        reached = fresh[-1].position
        conn.execute(f"UPDATE {schema}.projection_position SET position = {int(reached)},"
                     f" events_applied = events_applied + {len(fresh)},"
                     f" stream_seq = greatest(stream_seq, {int(stream_seq)})"
                     f" WHERE projector = {_quote(model.position_key)}; COMMIT", prepare=False)
        return reached
    except BaseException:
        if conn.info.transaction_status != TransactionStatus.IDLE:
            conn.execute("ROLLBACK")
            forget_staging_tables(conn)
        raise


def _quote(text: str) -> str:
    """A SQL string literal of one of our own names (projector names are identifiers)."""
    if not text.isidentifier():
        raise ValueError(f"not a projector name: {text!r}")
    return f"'{text}'"
