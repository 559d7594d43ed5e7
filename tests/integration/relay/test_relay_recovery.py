"""NATS restarted and PostgreSQL connections cut mid-load: the relay recovers by itself, and the
events stream still holds every stored event exactly once, in log order."""

import asyncio
import threading

import psycopg

from bus import streams, wire
from tests.integration.relay.conftest import read_events_stream, wait_until
from tests.integration.relay.test_relay_crash import start_relay, write_steadily


def cut_connections(dsn: str) -> int:
    """Terminate every other session on the store's database (what a PostgreSQL restart does)."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall()
    return len(rows)


async def test_relay_survives_a_nats_restart_and_lost_database_connections(
    own_nats, store, fresh_pg_dsn, tmp_path
):
    # Given a relay process publishing a store under steady write load
    stop_writing = threading.Event()
    writer = threading.Thread(target=write_steadily, args=(store, stop_writing))
    relay = start_relay(own_nats.url, fresh_pg_dsn, tmp_path / "relay.log")
    writer.start()
    try:
        await asyncio.sleep(2.0)

        # When nats-server is killed and comes back on the same port and store
        own_nats.kill()
        await asyncio.sleep(0.5)
        own_nats.start()
        await asyncio.sleep(1.5)

        # And the relay's PostgreSQL sessions are cut (the writer's too: it just retries)
        await asyncio.to_thread(cut_connections, fresh_pg_dsn)
        await asyncio.sleep(1.5)
    finally:
        stop_writing.set()
        writer.join()

    # Then the relay catches up by itself
    import nats

    connection = await nats.connect(own_nats.url)
    js = connection.jetstream()
    try:
        stored_ids = [n.id for n in store.recorder.select_notifications(start=None, limit=10**6)]

        async def caught_up():
            return (await js.stream_info(streams.EVENTS_STREAM)).state.messages >= len(stored_ids)

        await wait_until(caught_up, timeout=60)
        await asyncio.sleep(0.3)
        messages = await read_events_stream(js)
    finally:
        relay.terminate()
        relay.wait(timeout=10)
        await connection.close()

    # With every stored event exactly once, in log order
    assert [wire.decode(message.data).position for message in messages] == stored_ids
    assert relay.returncode == 0, (tmp_path / "relay.log").read_text()[-3000:]
