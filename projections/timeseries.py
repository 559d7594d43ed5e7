"""Time-series tables on either path: hypertables with TimescaleDB, range partitions without.

Both paths expose the same relation names and columns, so readers run the same queries and get
the same answers. Buckets use `date_bin(width, at, '2000-01-03')` on plain PostgreSQL, which
equals Timescale's `time_bucket(width, at)` (same origin) for every resolution we serve.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import psycopg

from projections.flavour import Flavour

BUCKET_ORIGIN = "2000-01-03 00:00:00+00"
RESOLUTIONS: dict[str, str] = {
    "1m": "1 minute", "5m": "5 minutes", "15m": "15 minutes",
    "1h": "1 hour", "4h": "4 hours", "1d": "1 day",
}
TRADE_RETENTION = "400 days"
COMPRESS_AFTER = "7 days"


def time_table(schema: str, table: str, body: str, flavour: Flavour, *,
               chunk: str = "1 day") -> list[str]:
    """DDL for a table partitioned by its `at` column: a hypertable, or a range-partitioned parent."""
    if flavour is Flavour.TIMESCALE:
        return [f"CREATE TABLE IF NOT EXISTS {schema}.{table} ({body})",
                f"SELECT create_hypertable('{schema}.{table}', by_range('at', INTERVAL '{chunk}'),"
                " if_not_exists => true)"]
    return [f"CREATE TABLE IF NOT EXISTS {schema}.{table} ({body}) PARTITION BY RANGE (at)"]


def timescale_policies(schema: str, table: str, segment_by: str, order_by: str) -> list[str]:
    """Compression and retention policies for a hypertable (TimescaleDB path only)."""
    return [
        f"ALTER TABLE {schema}.{table} SET (timescaledb.compress,"
        f" timescaledb.compress_segmentby = '{segment_by}', timescaledb.compress_orderby = '{order_by}')",
        f"SELECT add_compression_policy('{schema}.{table}', INTERVAL '{COMPRESS_AFTER}', if_not_exists => true)",
        f"SELECT add_retention_policy('{schema}.{table}', INTERVAL '{TRADE_RETENTION}', if_not_exists => true)",
    ]


class DailyPartitions:
    """Creates the daily range partitions a batch needs (plain path), remembering what exists."""

    def __init__(self) -> None:
        self._known: set[tuple[str, str, str]] = set()

    def ensure(self, conn: psycopg.Connection, schema: str, table: str,
               times: set[datetime]) -> None:
        """Create `schema.table`'s partition for every UTC day in `times` that lacks one."""
        for day in sorted({t.astimezone(timezone.utc).date() for t in times}):
            name = f"{table}_p{day:%Y%m%d}"
            key = (schema, table, name)
            if key in self._known:
                continue
            start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {schema}.{name} PARTITION OF {schema}.{table}"
                f" FOR VALUES FROM ('{start.isoformat()}') TO ('{(start + timedelta(days=1)).isoformat()}')")
            self._known.add(key)


def run_timescale_jobs(conn: psycopg.Connection, schema: str) -> int:
    """Run this schema's Timescale policy jobs once (`CALL run_job`): for servers without
    background workers (the PGlite build); production's workers run them on schedule."""
    jobs = conn.execute("SELECT job_id FROM timescaledb_information.jobs"
                        " WHERE hypertable_schema = %s ORDER BY job_id", (schema,)).fetchall()
    for (job_id,) in jobs:
        conn.execute(f"CALL run_job({int(job_id)})")
    return len(jobs)
