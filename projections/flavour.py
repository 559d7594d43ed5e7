"""Which PostgreSQL we are writing to: with TimescaleDB, or plain (range partitions + date_bin).

Detected once per connection at start-up and logged, so an operator can see which path is live.
"""

from __future__ import annotations

import enum
import logging

import psycopg

log = logging.getLogger(__name__)


class Flavour(enum.StrEnum):
    PLAIN = "plain"  # native range partitioning; candles rolled up by the projector with date_bin()
    TIMESCALE = "timescale"  # hypertables; candles are continuous aggregates (real-time on)


def detect_flavour(conn: psycopg.Connection) -> Flavour:
    """Use TimescaleDB when the extension is installed or installable, else plain PostgreSQL."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'),"
        " (SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb')").fetchone()
    installed, available = row
    if not installed and available:
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        installed = 1
    flavour = Flavour.TIMESCALE if installed else Flavour.PLAIN
    log.info("read models use the %s path (timescaledb %s)", flavour,
             "installed" if installed else "not available")
    return flavour


def supports_copy(conn: psycopg.Connection) -> bool:
    """False on the PGlite WASM build (COPY crashes it); true on a real server."""
    version = conn.execute("SELECT version()").fetchone()[0]
    return "emcc" not in version and "Emscripten" not in version
