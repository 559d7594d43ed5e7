"""How far the pipeline under measurement has got, read from PostgreSQL: the engine's committed
command position, the store's last event, a projector's `consistent_through`; and `until`, the
poll loop the benchmarks wait with (each wait bounded, naming what it waited for on timeout)."""

from __future__ import annotations

import asyncio
import time

import psycopg

PROJECTOR = "trades"  # the projector bench.scale measures; its read models feed the read API phase


async def until(predicate, timeout: float, what: str, interval: float = 0.02) -> None:
    """Poll the async `predicate` every `interval` s until true; TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


async def at_least(value: int, target: int) -> bool:
    """`value >= target` as a predicate for `until` (the value is read at each poll)."""
    return value >= target


def engine_position(conn) -> int:
    """The commands stream position the engine has committed (0 before its first batch)."""
    row = conn.execute("SELECT notification_id FROM exchange_tracking WHERE application_name = 'engine'").fetchone()
    return row[0] if row else 0


def has_tracking(conn) -> bool:
    """Whether the engine has created its tracking table yet."""
    return conn.execute("SELECT to_regclass('exchange_tracking') IS NOT NULL").fetchone()[0]


def last_position(conn) -> int:
    """The store's last event position."""
    return conn.execute("SELECT coalesce(max(notification_id), 0) FROM exchange_events").fetchone()[0]


def consistent_through(conn, projector: str = PROJECTOR) -> int:
    """A projector's `consistent_through` (0 before it has started)."""
    from projections.catalog import active_schema

    if not conn.execute("SELECT to_regclass('qd_projection.active') IS NOT NULL").fetchone()[0]:
        return 0
    schema = active_schema(conn, projector)
    if schema is None:
        return 0
    try:
        row = conn.execute(f"SELECT consistent_through FROM {schema}.projection_position"
                           " WHERE projector = %s", (projector,)).fetchone()
    except psycopg.errors.UndefinedTable:
        return 0
    return row[0] if row else 0


def served_through(conn) -> int:
    """How far `read.position_trades` says the whole model is complete (all partitions together)."""
    try:
        row = conn.execute(f"SELECT consistent_through FROM read.position_{PROJECTOR}").fetchone()
    except psycopg.errors.UndefinedTable:
        return 0
    return row[0] if row and row[0] else 0
