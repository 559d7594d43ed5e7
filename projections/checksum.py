"""Order-independent checksums of a read model's tables, to compare two generations."""

from __future__ import annotations

import psycopg

from projections.model import ReadModel


def table_checksum(conn: psycopg.Connection, relation: str) -> tuple[int, str]:
    """(row count, md5 over the sorted md5s of every row's text form)."""
    row = conn.execute(
        f"SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '') FROM"
        f" (SELECT md5(t::text) AS h FROM {relation} t) rows").fetchone()
    return row[0], row[1]


def model_checksums(conn: psycopg.Connection, model: ReadModel, schema: str) -> dict[str, tuple[int, str]]:
    """Checksums of every served table of `model` in `schema`."""
    return {table: table_checksum(conn, f"{schema}.{table}") for table in model.tables}
