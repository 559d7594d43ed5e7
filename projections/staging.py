"""Bulk loading of a batch's rows: COPY into a temp staging table, then set-based SQL.

Staging tables are per connection (`pg_temp`), created once and emptied at every commit
(`ON COMMIT DELETE ROWS`), so a batch costs one COPY per table, not a statement per event.
Where COPY is unavailable (the PGlite TimescaleDB build crashes on it) the same rows go in with
one `INSERT ... SELECT FROM unnest(arrays)` statement instead.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence

import psycopg

_created: "weakref.WeakKeyDictionary[psycopg.Connection, set[str]]" = weakref.WeakKeyDictionary()


class Stager:
    """Loads rows into named staging tables on one connection."""

    def __init__(self, conn: psycopg.Connection, *, use_copy: bool = True) -> None:
        self.conn = conn
        self.use_copy = use_copy

    def stage(self, name: str, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence]) -> int:
        """Put `rows` into temp table `name` (columns: (name, sql type)); returns the row count."""
        rows = list(rows)
        self._ensure(name, columns)
        if not rows:
            return 0
        names = ", ".join(column for column, _ in columns)
        with self.conn.cursor() as cur:
            if self.use_copy:
                with cur.copy(f"COPY {name} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types([sql_type for _, sql_type in columns])
                    for row in rows:
                        copy.write_row(row)
            else:
                arrays = [list(values) for values in zip(*rows)]
                unnest = ", ".join(f"%s::{sql_type}[]" for _, sql_type in columns)
                cur.execute(f"INSERT INTO {name} ({names}) SELECT * FROM unnest({unnest})", arrays)
        return len(rows)

    def _ensure(self, name: str, columns: Sequence[tuple[str, str]]) -> None:
        created = _created.setdefault(self.conn, set())
        if name in created:
            return
        body = ", ".join(f"{column} {sql_type}" for column, sql_type in columns)
        self.conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({body}) ON COMMIT DELETE ROWS")
        created.add(name)


def forget_staging_tables(conn: psycopg.Connection) -> None:
    """After a rollback: staging tables created in that transaction are gone with it."""
    _created.pop(conn, None)
