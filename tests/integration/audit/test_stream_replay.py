"""Replay from the JetStream events stream agrees with replay from the store, and a store
changed after publication differs from the stream at the changed event."""

import asyncio
import json

import nats
import typer
from typer.testing import CliRunner

from audit.log_source import StoreLog
from audit.replay import Replay, default_mapper
from audit.stream_source import WireToRows, compare_logs, read_events_stream
from bench.replay import open_store, write_trading_log
from bus import streams
from bus.relay import Relay
from bus.relay_source import StoreSource
from cli.audit import audit_app
from tests.integration.audit.ledger import execute

qd = typer.Typer()
qd.add_typer(audit_app, name="audit")


async def publish_store(nats_url: str, store) -> int:
    """Run the relay once over everything stored (as the live relay does)."""
    connection = await nats.connect(nats_url)
    try:
        await streams.declare(connection.jetstream())
        relay = Relay(connection, StoreSource(store.recorder, store.mapper))
        await relay.resume()
        return await relay.relay_available()
    finally:
        await connection.close()


async def test_replay_from_the_stream_equals_replay_from_the_store(fresh_pg_dsn, own_nats_url):
    # A trading log in the store, published to QD_EVT by the relay.
    store = open_store(fresh_pg_dsn)
    write_trading_log(store, events=1500, batch_commands=30)
    published = await publish_store(own_nats_url, store)
    store.close()
    # Both replays reach the same state hash, and the logs agree event by event.
    mapper = default_mapper()
    from_store = Replay().run(StoreLog(fresh_pg_dsn).rows())
    stream_rows = list(WireToRows(mapper).rows(await read_events_stream(own_nats_url)))
    from_stream = Replay(verify_chain=False).run(stream_rows)
    assert from_store.ok and from_stream.ok and from_store.events == published
    assert from_stream.checkpoints[-1].state_hash == from_store.checkpoints[-1].state_hash
    assert compare_logs(StoreLog(fresh_pg_dsn).rows(), stream_rows, mapper) is None
    # The same through the command line, which also compares the stream with the store.
    cli = await asyncio.to_thread(CliRunner().invoke, qd, [
        "audit", "replay", "--source", "stream", "--nats", own_nats_url, "--pg", fresh_pg_dsn, "--json"])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.output)["checkpoints"][-1]["state_hash"] == from_store.checkpoints[-1].state_hash

    # A store edited after publication: the comparison names the edited event.
    target = stream_rows[len(stream_rows) // 2].position
    execute(fresh_pg_dsn, "UPDATE exchange_events SET state = convert_to(regexp_replace("
            "convert_from(state, 'UTF8'), '\"seq\":([0-9]+)', '\"seq\":1\\1'), 'UTF8')"
            " WHERE notification_id = %s", (target,))
    difference = compare_logs(StoreLog(fresh_pg_dsn).rows(), stream_rows, mapper)
    assert difference is not None and difference.position == target and "seq" in difference.reason
