"""The hash chain of the event store: a PostgreSQL trigger writes it, Python verifies it.

Table `<events_table>_chain(notification_id bigint PRIMARY KEY, prev_hash bytea, hash bytea)`:
one row per stored event, written by a statement-level AFTER INSERT trigger on the events table,
so every event and its chain row commit in the SAME transaction (or neither does). `hash` is
SHA-256(prev_hash || canonical record), see audit/canonical.py and docs/canonical-encoding.md.

Ordering invariant: chain order = notification_id order = commit order. eventsourcing's
PostgreSQL recorder takes an EXCLUSIVE lock on the events table for each insert transaction, so
positions are handed out and chained in commit order. The trigger fails closed: a row whose
position is not after the current head (a writer that skipped the lock) aborts its transaction
instead of forking the chain.

Known limit: the chain proves the log was not changed after the fact by someone who cannot also
rewrite every later hash; a complete rewrite, or a cut of the tail (last events and their chain
rows), is caught only against a head published elsewhere (the on-chain settlement batches;
`qd audit replay --expect-head`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
import struct
from typing import Any

from psycopg import sql
from psycopg.rows import tuple_row

from audit.canonical import ENCODING_VERSION, GENESIS_HASH, canonical_record

_PREFIX = struct.Struct(">Bq16sq")  # version, position, originator id, originator version
_LENGTH = struct.Struct(">I")

# PostgreSQL's twin of audit.canonical.canonical_record (encoding version 1).
_RECORD_SQL = (
    "'\\x01'::bytea || int8send(n.notification_id) || uuid_send(n.originator_id)"
    " || int8send(n.originator_version)"
    " || int4send(octet_length(convert_to(n.topic, 'UTF8'))) || convert_to(n.topic, 'UTF8')"
    " || int4send(octet_length(n.state)) || n.state"
)

_FUNCTION = """
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
    head_position bigint;
    head bytea;
    first_previous bytea;
    r record;
    positions bigint[] := '{{}}';
    hashes bytea[] := '{{}}';
BEGIN
    SELECT c.notification_id, c.hash INTO head_position, head
      FROM {chain} c ORDER BY c.notification_id DESC LIMIT 1;
    IF NOT FOUND THEN
        head_position := 0;
        head := {genesis}::bytea;
    END IF;
    first_previous := head;
    -- Records are built set-based; only the hashing itself is sequential.
    FOR r IN SELECT n.notification_id AS position, {record} AS record
               FROM new_events n ORDER BY n.notification_id LOOP
        head := sha256(head || r.record);
        positions := positions || r.position;
        hashes := hashes || head;
    END LOOP;
    IF positions[1] <= head_position THEN
        RAISE EXCEPTION 'event chain: position % is not after the chain head %',
            positions[1], head_position;
    END IF;
    INSERT INTO {chain} (notification_id, prev_hash, hash)
        SELECT p, coalesce(lag(h) OVER (ORDER BY o), first_previous), h
          FROM unnest(positions, hashes) WITH ORDINALITY AS u(p, h, o);
    RETURN NULL;
END
$body$
"""

_TRIGGER = """
CREATE OR REPLACE TRIGGER {trigger} AFTER INSERT ON {events}
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION {function}()
"""


def chain_table_name(events_table: str) -> str:
    """The name of the chain table paired with an events table."""
    return f"{events_table}_chain"


def install_chain(conn: Any, events_table: str, schema: str = "public") -> int:
    """Create the chain table and trigger (idempotent) and chain any events stored before.

    Call once at store set-up, after the events table exists. Runs in one transaction holding
    the events table's EXCLUSIVE lock, so no event is inserted unchained meanwhile. Returns the
    number of pre-existing events it chained (0 on a fresh store or a second call).
    """
    chain = chain_table_name(events_table)
    names = {
        "events": sql.Identifier(schema, events_table),
        "chain": sql.Identifier(schema, chain),
        "function": sql.Identifier(schema, f"{chain}_append"),
        "trigger": sql.Identifier(f"{chain}_append"),
        "genesis": sql.Literal(GENESIS_HASH),
        "record": sql.SQL(_RECORD_SQL),
    }
    # tuple rows whatever the connection's default (eventsourcing's pool uses dict rows)
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cursor:
        # The lock first: it also serialises two processes installing at once.
        cursor.execute(sql.SQL("LOCK TABLE {events} IN EXCLUSIVE MODE").format(**names))
        cursor.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {chain} (notification_id bigint PRIMARY KEY,"
            " prev_hash bytea NOT NULL, hash bytea NOT NULL)").format(**names))
        cursor.execute(sql.SQL(_FUNCTION).format(**names))
        cursor.execute(sql.SQL(_TRIGGER).format(**names))
        return _chain_unchained_events(cursor, names)


def uninstall_chain(conn: Any, events_table: str, schema: str = "public") -> None:
    """Drop the chain trigger and table: only to measure the chain's cost or test an unchained store."""
    chain = chain_table_name(events_table)
    names = {"events": sql.Identifier(schema, events_table), "chain": sql.Identifier(schema, chain),
             "trigger": sql.Identifier(f"{chain}_append")}
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TRIGGER IF EXISTS {trigger} ON {events}").format(**names))
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {chain}").format(**names))


def _chain_unchained_events(cursor: Any, names: dict[str, Any]) -> int:
    """Chain events stored before the trigger existed (caller holds the events table lock)."""
    cursor.execute(sql.SQL(
        "SELECT notification_id, hash FROM {chain} ORDER BY notification_id DESC LIMIT 1"
    ).format(**names))
    head_row = cursor.fetchone()
    head_position, head = (head_row[0], bytes(head_row[1])) if head_row else (0, GENESIS_HASH)
    cursor.execute(sql.SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {events}"
        " WHERE notification_id > %s ORDER BY notification_id").format(**names), (head_position,))
    rows = []
    for position, originator_id, version, topic, state in cursor.fetchall():
        record = canonical_record(position, originator_id, version, topic, bytes(state))
        previous, head = head, _sha(head + record)
        rows.append((position, previous, head))
    if rows:
        cursor.executemany(sql.SQL(
            "INSERT INTO {chain} (notification_id, prev_hash, hash) VALUES (%s, %s, %s)"
        ).format(**names), rows)
    return len(rows)


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# ----- verification ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogRow:
    """One log position as read for an audit: the stored event and its chain row (either may
    be missing when the store was tampered with)."""

    position: int
    originator_id: Any = None
    originator_version: int | None = None
    topic: str | None = None
    state: bytes | None = None
    prev_hash: bytes | None = None
    hash: bytes | None = None

    def names(self) -> str:
        """How a report names this event."""
        if self.topic is None:
            return f"position {self.position}"
        return (f"position {self.position} ({self.topic}, aggregate {self.originator_id}"
                f" v{self.originator_version})")


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first place where the log stops matching its chain."""

    position: int
    reason: str
    event: str

    def __str__(self) -> str:
        return f"chain broken at {self.event}: {self.reason}"


class ChainVerifier:
    """Recomputes the chain from genesis, one row at a time, and stops at the first break."""

    def __init__(self, head: bytes = GENESIS_HASH, head_position: int = 0) -> None:
        self.head = head
        self.head_position = head_position
        self.checked = 0
        # Few topics and aggregates, many events: their encoded parts are built once each.
        self._topic_parts: dict[str, bytes] = {}
        self._id_bytes: dict[Any, bytes] = {}

    def check(self, row: LogRow) -> ChainBreak | None:
        """Verify one row and advance the head; a ChainBreak names what is wrong."""
        state = row.state
        if state is None:
            return ChainBreak(row.position, "the event is missing from the store (deleted)",
                              row.names())
        if row.hash is None:
            return ChainBreak(row.position, "the event has no chain entry (inserted outside "
                              "the chain, or its chain row was deleted)", row.names())
        if row.prev_hash != self.head:
            return ChainBreak(row.position, f"its chain entry does not follow the head at "
                              f"position {self.head_position}: an event between them was "
                              "deleted, inserted or reordered", row.names())
        computed = _sha(b"".join((self.head, self._record_prefix(row), _LENGTH.pack(len(state)),
                                  state)))
        if computed != row.hash:
            return ChainBreak(row.position, "its content does not match its chain hash "
                              "(altered or moved)", row.names())
        self.head = computed
        self.head_position = row.position
        self.checked += 1
        return None

    def _record_prefix(self, row: LogRow) -> bytes:
        """canonical_record's bytes up to the state length (same layout, cached parts)."""
        topic_part = self._topic_parts.get(row.topic)
        if topic_part is None:
            encoded = row.topic.encode("utf-8")
            topic_part = self._topic_parts[row.topic] = _LENGTH.pack(len(encoded)) + encoded
        id_bytes = self._id_bytes.get(row.originator_id)
        if id_bytes is None:
            id_bytes = self._id_bytes[row.originator_id] = row.originator_id.bytes
        return _PREFIX.pack(ENCODING_VERSION, row.position, id_bytes,
                            row.originator_version) + topic_part


def verify_rows(rows: Iterable[LogRow]) -> tuple[ChainVerifier, ChainBreak | None]:
    """Verify a whole log from genesis; returns the verifier (head, count) and the first break."""
    verifier = ChainVerifier()
    for row in rows:
        found = verifier.check(row)
        if found is not None:
            return verifier, found
    return verifier, None

