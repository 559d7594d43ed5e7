"""`python -m bus.standby <engine flags>`: an engine that runs only while it holds the lease.

Every engine process of a deployment starts this way; the first to take the lease leads, the
others wait as standbys. The lease is a PostgreSQL session advisory lock
(``pg_try_advisory_lock``) held on a connection of its own: PostgreSQL releases it the moment
the holder's session ends — its process died, was SIGKILLed, or its machine vanished (after the
TCP keepalive below gives up) — so a standby polling every QD_LEASE_POLL_SECONDS (0.2 s) takes over
within that interval plus the engine's start-up (rebuild from the store, position the consumer).

No command is applied twice: the new leader runs the ordinary engine (``bus.engine.run_forever``),
which rebuilds from the event store and resumes the commands stream after the committed commands
position; the commands the old leader fetched but never committed are redelivered and applied once.

Fencing: the leader checks its lease connection every QD_LEASE_CHECK_SECONDS (1 s); if that session
is gone (PostgreSQL restarted, network cut) it stops its engine at once and exits with
``LEASE_LOST_EXIT``, since another process may already hold the lease. Known limit (not tested
here): between the loss and that check a partitioned old leader could still try to commit a
batch; it would collide with the new leader's events on the store's (aggregate id, version) and
receipt keys, so one of the two commits fails and that engine restarts from the store.

Metrics: with QD_METRICS_PORT (or --metrics-port) set, the process serves /metrics, /healthz and
/readyz there: ``qd_engine_leader`` (0 while standing by, 1 while leading) and, while leading, the
engine's own counters (commands by outcome and reason, batch sizes, commit latency, positions:
``observability.metrics.EngineMetrics``); /readyz is ready only while leading.

``python -m bus.engine`` still runs an engine without any lease (tests, a single-process stack).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import zlib

import psycopg

from bus.engine import EngineSettings, run_forever
from bus.engine_cli import settings_from_arguments, tune_interpreter
from observability.health import Readiness, serve_operations
from observability.metrics import EngineMetrics
from observability.lifecycle import stop_on_signals

log = logging.getLogger("bus.standby")

LEASE_KEY = zlib.crc32(b"qd.engine.lease")  # one advisory-lock key per database
LEASE_LOST_EXIT = 3
# Detect a vanished peer in ~10 s instead of the kernel's two hours.
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}


async def acquire_lease(dsn: str, poll_seconds: float, stop: asyncio.Event) -> psycopg.AsyncConnection | None:
    """Wait until this process holds the lease; return the connection holding it (None if stopped)."""
    connection = await psycopg.AsyncConnection.connect(dsn, autocommit=True,
                                                       application_name="qd-engine-lease", **KEEPALIVE)
    announced = False
    while not stop.is_set():
        row = await (await connection.execute("SELECT pg_try_advisory_lock(%s)", (LEASE_KEY,))).fetchone()
        if row[0]:
            return connection
        if not announced:
            log.warning("standing by: another engine holds the lease")
            announced = True
        try:
            await asyncio.wait_for(stop.wait(), poll_seconds)
        except asyncio.TimeoutError:
            pass
    await connection.close()
    return None


async def watch_lease(connection: psycopg.AsyncConnection, check_seconds: float,
                      stop: asyncio.Event, lost: asyncio.Event) -> None:
    """Stop the engine as soon as the session holding the lease is gone."""
    while not stop.is_set():
        try:
            await asyncio.wait_for(connection.execute("SELECT 1"), max(check_seconds, 1.0) * 3)
        except Exception as error:  # noqa: BLE001 - any failure means the lease may be gone
            log.critical("lease connection lost (%r): stopping the engine", error)
            lost.set()
            stop.set()
            return
        try:
            await asyncio.wait_for(stop.wait(), check_seconds)
        except asyncio.TimeoutError:
            pass


async def lead_when_leased(settings: EngineSettings, stop: asyncio.Event, *,
                           poll_seconds: float = 0.2, check_seconds: float = 1.0,
                           metrics: EngineMetrics | None = None, readiness: Readiness | None = None) -> int:
    """Wait for the lease, then run the engine until stopped; the process's exit code."""
    connection = await acquire_lease(settings.pg_dsn, poll_seconds, stop)
    if connection is None:
        return 0
    log.warning("lease taken at %.3f: leading", time.time())
    lost = asyncio.Event()
    watcher = asyncio.create_task(watch_lease(connection, check_seconds, stop, lost))
    if metrics is not None:
        metrics.set_leading(True)
    try:
        await run_forever(settings, stop, metrics, readiness)
    finally:
        watcher.cancel()
        if metrics is not None:
            metrics.set_leading(False)
        try:
            await connection.close()  # releases the lease
        except Exception:  # noqa: BLE001 - the session may already be gone
            pass
    return LEASE_LOST_EXIT if lost.is_set() else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: the engine's flags plus QD_LEASE_POLL_SECONDS / QD_LEASE_CHECK_SECONDS."""
    settings = settings_from_arguments(argv)
    poll = float(os.environ.get("QD_LEASE_POLL_SECONDS", "0.2"))
    check = float(os.environ.get("QD_LEASE_CHECK_SECONDS", "1.0"))
    tune_interpreter()  # as bus.engine_cli
    metrics = EngineMetrics() if settings.metrics_port >= 0 else None
    health = serve_operations(settings.metrics_port, metrics, log) if metrics else None
    if health is not None:
        health.readiness.add("leading", lambda: metrics.leading)

    async def _main() -> int:
        stop = stop_on_signals()
        return await lead_when_leased(settings, stop, poll_seconds=poll, check_seconds=check,
                                      metrics=metrics, readiness=health.readiness if health else None)

    try:
        import uvloop

        return uvloop.run(_main())
    except ImportError:
        return asyncio.run(_main())


if __name__ == "__main__":
    sys.exit(main())
