"""Which schema serves each projector, and the `read` schema of views readers query.

Physical tables live in `proj_<name>_g<generation>`; `qd_projection.active` records the serving
generation; `read.<table>` views point at it. A blue/green switch replaces a projector's views
and its `active` row in one transaction, so readers see the old or the new model, never a mix.
"""

from __future__ import annotations

import psycopg

from projections.model import ReadModel, create_tables

CATALOG_DDL = [
    "CREATE SCHEMA IF NOT EXISTS qd_projection",
    "CREATE SCHEMA IF NOT EXISTS read",
    """CREATE TABLE IF NOT EXISTS qd_projection.active (
        projector text PRIMARY KEY, schema_name text NOT NULL, generation int NOT NULL)""",
]


def schema_name(projector: str, generation: int) -> str:
    return f"proj_{projector}_g{generation}"


def ensure_catalog(conn: psycopg.Connection) -> None:
    """Create the catalog schema and the `read` schema (idempotent; racing projectors are fine)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(7301)")  # concurrent CREATE SCHEMA IF NOT EXISTS races
        for statement in CATALOG_DDL:
            conn.execute(statement)


def active_schema(conn: psycopg.Connection, projector: str) -> str | None:
    """The schema currently serving `projector`, or None before its first start."""
    row = conn.execute("SELECT schema_name FROM qd_projection.active WHERE projector = %s",
                       (projector,)).fetchone()
    return row[0] if row else None


def ensure_active(conn: psycopg.Connection, model: ReadModel) -> str:
    """The serving schema of `model`, created (generation 1) with its views on first start."""
    ensure_catalog(conn)
    schema = active_schema(conn, model.name)
    if schema is None:
        schema = schema_name(model.name, 1)
        create_tables(conn, model, schema)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(7302)")
            if active_schema(conn, model.name) is None:
                point_views(conn, model, schema)
                conn.execute("INSERT INTO qd_projection.active VALUES (%s, %s, 1)", (model.name, schema))
        schema = active_schema(conn, model.name)
    else:
        create_tables(conn, model, schema)  # new tables of a newer version of the model
    return schema


def point_views(conn: psycopg.Connection, model: ReadModel, schema: str) -> None:
    """(Re)point `read.<table>` at `schema` for every table the model serves."""
    from projections.partition import position_view_sql  # late: partition imports the model

    for table in model.tables:
        conn.execute(f"DROP VIEW IF EXISTS read.{table}")
        conn.execute(f"CREATE VIEW read.{table} AS SELECT * FROM {schema}.{table}")
    conn.execute(f"DROP VIEW IF EXISTS read.position_{model.name}")
    conn.execute(position_view_sql(model.name, schema))


def switch(conn: psycopg.Connection, model: ReadModel, schema: str, generation: int) -> None:
    """Make `schema` the serving one (call inside the caller's transaction)."""
    point_views(conn, model, schema)
    conn.execute("UPDATE qd_projection.active SET schema_name = %s, generation = %s"
                 " WHERE projector = %s", (schema, generation, model.name))
