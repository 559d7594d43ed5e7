"""The settler's own small state: named values (e.g. its lookup table's address).

Table `onchain_settler_state` in the event store's database. The record of the batches
themselves is in the event log (`onchain.settler.record`, the `Settlement` aggregate); the
on-chain sequence is the truth. (The former `onchain_settlement_batches` table is no longer
written; an existing one is left alone.)
"""

from __future__ import annotations

DDL = "CREATE TABLE IF NOT EXISTS onchain_settler_state (name text PRIMARY KEY, value text NOT NULL)"


class Journal:
    """Rows of `onchain_settler_state` (autocommit connection)."""

    def __init__(self, conn) -> None:
        self.conn = conn
        conn.execute(DDL)

    def state(self, name: str) -> str | None:
        """A named value the settler keeps (e.g. its lookup table's address)."""
        row = self.conn.execute("SELECT value FROM onchain_settler_state WHERE name = %s", (name,)).fetchone()
        return None if row is None else row[0]

    def set_state(self, name: str, value: str) -> None:
        self.conn.execute("INSERT INTO onchain_settler_state (name, value) VALUES (%s, %s)"
                          " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value", (name, value))
