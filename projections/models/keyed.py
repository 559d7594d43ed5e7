"""Keyed-state read models: load the touched rows once, apply handlers in memory, upsert once.

For tables whose new row depends on the old one (orders, positions, balances): `load` fetches
every key the batch touches in one query, handlers mutate plain dicts, and `flush` writes all
touched rows with one staged upsert (plus append-only history rows where the model keeps them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg

from projections.staging import Stager


def load_rows(conn: psycopg.Connection, table: str, key_columns: Sequence[str],
              columns: Sequence[str], keys: Iterable[tuple]) -> dict[tuple, dict]:
    """Current rows of `table` for `keys`, as {key: {column: value}}, in one query."""
    keys = list(set(keys))
    if not keys:
        return {}
    arrays = [list(values) for values in zip(*keys)]
    probe = ", ".join(f"%s::{'text' if isinstance(arrays[i][0], str) else 'int8'}[]"
                      for i in range(len(key_columns)))
    match = " AND ".join(f"t.{column} = k.{column}" for column in key_columns)
    rows = conn.execute(
        f"SELECT {', '.join('t.' + c for c in columns)} FROM {table} t"
        f" JOIN unnest({probe}) AS k({', '.join(key_columns)}) ON {match}", arrays).fetchall()
    index = [columns.index(column) for column in key_columns]
    return {tuple(row[i] for i in index): dict(zip(columns, row)) for row in rows}


def upsert_rows(conn: psycopg.Connection, stager: Stager, table: str,
                typed_columns: Sequence[tuple[str, str]], key_columns: Sequence[str],
                rows: Iterable[dict]) -> None:
    """Insert-or-replace `rows` (dicts) into `table` with one staged statement."""
    rows = list(rows)
    if not rows:
        return
    conn.execute(stage_upsert(stager, table, typed_columns, key_columns, rows))


def stage_upsert(stager: Stager, table: str, typed_columns: Sequence[tuple[str, str]],
                 key_columns: Sequence[str], rows: Sequence[dict]) -> str:
    """Stage `rows` (dicts) and return the insert-or-replace statement that applies them
    (for callers that send it together with other statements)."""
    names = [column for column, _ in typed_columns]
    stage = "stage_" + table.split(".")[-1]
    stager.stage(stage, typed_columns, ([row[name] for name in names] for row in rows))
    updates = ", ".join(f"{name} = excluded.{name}" for name in names if name not in key_columns)
    return (f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(names)} FROM {stage}"
            f" ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {updates}")


def append_rows(conn: psycopg.Connection, stager: Stager, table: str,
                typed_columns: Sequence[tuple[str, str]], rows: Iterable[Sequence]) -> None:
    """Append rows (sequences in column order) to `table` through a staging table."""
    rows = list(rows)
    if not rows:
        return
    names = ", ".join(column for column, _ in typed_columns)
    stage = "stage_" + table.split(".")[-1]
    stager.stage(stage, typed_columns, rows)
    conn.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} ON CONFLICT DO NOTHING")
