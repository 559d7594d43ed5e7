"""The settler's record of its batches: proposed (about to be sent) and settled (landed).

Table `onchain_settlement_batches` in the event store's database. The on-chain sequence is the
truth; this record is what an operator reads (and what reconciliation uses to know the log
position of a batch). A crash between sending and recording leaves a `proposed` row that the
next start marks `settled` if the chain has that sequence, or replaces if it does not.
(Meant to become events in the log through an engine command; see docs/architecture/onchain.md.)
"""

from __future__ import annotations

import json

from onchain.settler.batch import SettlementBatch

DDL = """CREATE TABLE IF NOT EXISTS onchain_settlement_batches (
    sequence bigint PRIMARY KEY,
    status text NOT NULL CHECK (status IN ('proposed', 'settled')),
    first_position bigint NOT NULL,
    last_position bigint NOT NULL,
    log_hash bytea NOT NULL,
    record jsonb NOT NULL,
    signature text,
    compute_units bigint,
    proposed_at timestamptz NOT NULL DEFAULT now(),
    settled_at timestamptz);
CREATE TABLE IF NOT EXISTS onchain_settler_state (name text PRIMARY KEY, value text NOT NULL)"""


class Journal:
    """Rows of `onchain_settlement_batches` (autocommit connection)."""

    def __init__(self, conn) -> None:
        self.conn = conn
        conn.execute(DDL)

    def propose(self, batch: SettlementBatch) -> None:
        """Record a batch about to be sent (replacing an unsent proposal of the same sequence)."""
        self.conn.execute(
            "INSERT INTO onchain_settlement_batches (sequence, status, first_position, last_position, log_hash, record)"
            " VALUES (%s, 'proposed', %s, %s, %s, %s) ON CONFLICT (sequence) DO UPDATE SET"
            " first_position = EXCLUDED.first_position, last_position = EXCLUDED.last_position,"
            " log_hash = EXCLUDED.log_hash, record = EXCLUDED.record, proposed_at = now()"
            " WHERE onchain_settlement_batches.status = 'proposed'",
            (batch.sequence, batch.first_position, batch.last_position, batch.log_hash,
             json.dumps(batch.as_record())))

    def settled(self, sequence: int, signature: str | None, compute_units: int | None) -> None:
        """Mark a batch as landed on chain."""
        self.conn.execute(
            "UPDATE onchain_settlement_batches SET status = 'settled', signature = coalesce(%s, signature),"
            " compute_units = coalesce(%s, compute_units), settled_at = coalesce(settled_at, now())"
            " WHERE sequence = %s", (signature, compute_units, sequence))

    def proposed_up_to(self, sequence: int) -> list[int]:
        """Sequences still marked proposed at or below ``sequence`` (they landed: the chain is there)."""
        rows = self.conn.execute("SELECT sequence FROM onchain_settlement_batches WHERE status = 'proposed'"
                                 " AND sequence <= %s ORDER BY sequence", (sequence,)).fetchall()
        return [row[0] for row in rows]

    def state(self, name: str) -> str | None:
        """A named value the settler keeps (e.g. its lookup table's address)."""
        row = self.conn.execute("SELECT value FROM onchain_settler_state WHERE name = %s", (name,)).fetchone()
        return None if row is None else row[0]

    def set_state(self, name: str, value: str) -> None:
        self.conn.execute("INSERT INTO onchain_settler_state (name, value) VALUES (%s, %s)"
                          " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value", (name, value))

    def row(self, sequence: int) -> dict | None:
        cursor = self.conn.execute(
            "SELECT sequence, status, first_position, last_position, log_hash, record, signature, compute_units"
            " FROM onchain_settlement_batches WHERE sequence = %s", (sequence,))
        row = cursor.fetchone()
        return None if row is None else dict(zip([c.name for c in cursor.description], row))

    def last_settled(self) -> dict | None:
        """The highest settled batch row."""
        cursor = self.conn.execute("SELECT max(sequence) FROM onchain_settlement_batches WHERE status = 'settled'")
        sequence = cursor.fetchone()[0]
        return None if sequence is None else self.row(sequence)
