"""Fixtures of the relay tests: a nats-server of their own (the events stream's exact contents
are asserted, so no other test may publish to it) and a fresh event store database."""

import asyncio

import nats
import pytest

from bus import streams, subjects
from bus.event_store import ExchangeStore
from deploy.local.nats import NatsServer


@pytest.fixture
def own_nats(tmp_path):
    """A nats-server with JetStream for one test."""
    server = NatsServer(tmp_path / "nats", log_file=tmp_path / "nats.log").start()
    yield server
    server.stop()


@pytest.fixture
def own_nats_url(own_nats) -> str:
    return own_nats.url


@pytest.fixture
async def connection(own_nats_url):
    """A connection to the test's own server, our streams declared."""
    client = await nats.connect(own_nats_url)
    await streams.declare(client.jetstream())
    yield client
    await client.close()


@pytest.fixture
def js(connection):
    """A JetStream context on the test's own server."""
    return connection.jetstream()


@pytest.fixture
def store(fresh_pg_dsn):
    """The engine's event store (same tables the relay reads) on a database of its own."""
    application = ExchangeStore(fresh_pg_dsn)
    yield application
    application.close()


async def read_events_stream(js, timeout: float = 10.0) -> list:
    """Every message of QD_EVT, in stream order (an ordered consumer from the start)."""
    state = (await js.stream_info(streams.EVENTS_STREAM)).state
    messages = []
    if state.messages == 0:
        return messages
    subscription = await js.subscribe(subjects.EVENTS_ALL, stream=streams.EVENTS_STREAM, ordered_consumer=True)
    try:
        while len(messages) < state.messages:
            messages.append(await subscription.next_msg(timeout=timeout))
    finally:
        await subscription.unsubscribe()
    return messages


async def wait_until(predicate, timeout: float = 20.0, interval: float = 0.05):
    """Poll an async predicate until it is true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await predicate():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)
