"""Fixtures of the engine's integration tests: a private nats-server per module (the commands
stream and the `engine` consumer are global names, so other areas' tests must not share them),
a fresh database per test, and an engine running in the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import sys

import nats
import pytest
from solders.keypair import Keypair

from bus import streams
from bus.engine import EngineSettings, run_forever
from bus.engine_intake import OperatorKeys
from tests.integration.engine.signing import Bot


@pytest.fixture(scope="module")
def engine_nats_url(module_nats_url) -> str:
    """A nats-server of this module's own."""
    return module_nats_url


@pytest.fixture
def admin() -> Keypair:
    return Keypair()


@pytest.fixture
async def nc(engine_nats_url):
    connection = await nats.connect(engine_nats_url)
    js = connection.jetstream()
    # Each test starts with empty streams and no engine consumer.
    for name in (streams.COMMANDS_STREAM, streams.EVENTS_STREAM):
        with contextlib.suppress(Exception):
            await js.delete_stream(name)
    await streams.declare(js, consumers=())
    yield connection
    await connection.close()


@contextlib.asynccontextmanager
async def running_engine(nats_url: str, pg_dsn: str, admin: Keypair, *, metrics=None, readiness=None,
                         **overrides):
    """An engine task for the duration of the block (recording `metrics`, if given)."""
    settings = EngineSettings(
        nats_url=nats_url, pg_dsn=pg_dsn,
        operators=OperatorKeys(admin=frozenset({str(admin.pubkey())})), **overrides,
    )
    stop = asyncio.Event()
    # As in the engine's own process (bus.engine_cli): hand the GIL over every 0.5 ms, so the
    # commit thread is not held 5 ms behind the apply stage (slow and timing-sensitive on a
    # loaded 2-core machine).
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    task = asyncio.create_task(run_forever(settings, stop, metrics, readiness))
    try:
        yield task
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 20)
        finally:
            sys.setswitchinterval(switch_interval)


@pytest.fixture
async def engine(nc, engine_nats_url, fresh_pg_dsn, admin):
    async with running_engine(engine_nats_url, fresh_pg_dsn, admin) as task:
        yield task


@pytest.fixture
async def operator(nc, admin) -> Bot:
    """The admin/deposit-watcher key as a bot."""
    return await Bot(nc, admin).start()
