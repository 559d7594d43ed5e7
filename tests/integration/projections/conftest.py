"""Fixtures of the read side's integration tests.

- `events_nats`: a nats-server of this test's own with the events stream `QD_EVT` declared
  (the session's server is shared with other areas, whose events would mix with ours).
- `read_dsn`: an empty PostgreSQL database of this test's own (plain path).
- `timescale_dsn`: the real TimescaleDB (PGlite WASM build, tools/timescale) over the wire;
  skipped with the install command when its node_modules are missing.
- `publish_events`: publish ProjectedEvents to QD_EVT exactly as the relay would.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import nats
import psycopg
import pytest

from bus import streams
from deploy.local.nats import NatsServer
from projections.wire_source import to_message

TIMESCALE_DIR = Path(__file__).resolve().parents[3] / "tools" / "timescale"
TIMESCALE_INSTALL = "cd tools/timescale && npm ci --legacy-peer-deps"


@pytest.fixture
def events_nats(tmp_path):
    """A fresh nats-server with QD_EVT declared; yields its URL."""
    server = NatsServer(tmp_path / "nats").start()

    async def declare() -> None:
        nc = await nats.connect(server.url)
        await streams.declare(nc.jetstream(), streams=(streams.EVENTS,), consumers=())
        await nc.close()

    asyncio.run(declare())
    yield server.url
    server.stop()


@pytest.fixture
def read_dsn(fresh_pg_dsn) -> str:
    return fresh_pg_dsn


async def publish(nats_url: str, events) -> int:
    """Publish events as the relay does (subject, wire bytes, Nats-Msg-Id = position)."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    futures = []
    for event in events:
        subject, data = to_message(event)
        futures.append(await js.publish_async(subject, data,
                                              headers={"Nats-Msg-Id": str(event.position)}))
    await asyncio.gather(*futures)
    await nc.close()
    return len(futures)


@pytest.fixture
def publish_events():
    return publish


@pytest.fixture(scope="session")
def timescale_dsn():
    """A PGlite TimescaleDB server on a free port (one connection at a time, no COPY)."""
    if not (TIMESCALE_DIR / "node_modules" / "@unni-craftsman" / "pglite").exists():
        pytest.skip(f"TimescaleDB harness not installed: run `{TIMESCALE_INSTALL}`")
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the TimescaleDB harness needs Node.js >= 18")
    process = subprocess.Popen(["node", "server.mjs", "0"], cwd=TIMESCALE_DIR,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        line = process.stdout.readline()
        if not line.startswith("LISTENING"):
            pytest.fail(f"TimescaleDB harness did not start: {line}{process.stdout.read(2000)}")
        port = int(line.split()[1])
        dsn = f"host=127.0.0.1 port={port} user=postgres password=x dbname=postgres sslmode=disable"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        yield dsn
    finally:
        os.killpg(process.pid, 9)  # in-memory database: nothing to shut down cleanly
        process.wait(10)
