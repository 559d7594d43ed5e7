"""PostgreSQL and then nats-server are restarted in the middle of a steady load: the engine
recovers by itself, and every command still has exactly one outcome and one effect."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import msgspec
import nats
import psycopg
import pytest
from solders.keypair import Keypair

from bus import streams, subjects
from bus.engine import RPC_STATE
from bus.event_store import RECEIPT_TOPIC, ExchangeStore
from commands import envelope as envelopes
from commands import messages as m
from deploy.local.nats import NatsServer
from deploy.local.postgres import Postgres
from domain.ids import account_aggregate_id
from tests.integration.engine.conftest import running_engine
from tests.integration.engine.signing import signed


@pytest.fixture
def own_servers():
    """A nats-server and a PostgreSQL of this test alone: it restarts them."""
    tmp_path = Path(tempfile.mkdtemp(prefix="qd-engine-restarts-"))
    nats_server = NatsServer(tmp_path / "nats", log_file=tmp_path / "nats.log").start()
    postgres = Postgres(tmp_path / "pg", log_file=tmp_path / "pg.log").start()
    yield nats_server, postgres
    nats_server.stop()
    postgres.stop()
    shutil.rmtree(tmp_path, ignore_errors=True)


async def publish_until_stored(js, envelope) -> None:
    """A bot's retry loop: same Nats-Msg-Id every time, so a retry is never a second command."""
    data = envelopes.encode(envelope)
    subject = subjects.command_for_type(type(envelope.command).__name__)
    while True:
        try:
            await js.publish(subject, data, headers={"Nats-Msg-Id": envelope.command_id}, timeout=1)
            return
        except Exception:  # noqa: BLE001 - server away: try again
            await asyncio.sleep(0.2)


async def test_postgres_and_nats_restarts_mid_load_recover_by_themselves(own_servers, admin):
    nats_server, postgres = own_servers
    nc = await nats.connect(nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream()
    await streams.declare(js)
    alice = Keypair()
    deposits = [signed(admin, m.Deposit(asset="USDC", amount=index + 1), owner=str(alice.pubkey()),
                       command_id=f"dep-{index}") for index in range(600)]

    async with running_engine(nats_server.url, postgres.dsn, admin):
        await publish_until_stored(js, signed(alice, m.OpenAccount(), command_id="open"))

        async def restarts() -> None:
            await asyncio.sleep(1.0)
            postgres.stop()  # the database goes away mid-load ...
            await asyncio.sleep(1.0)
            postgres.start()  # ... and comes back on the same port and data
            await asyncio.sleep(1.5)
            nats_server.stop()  # then the message server
            await asyncio.sleep(0.5)
            nats_server.start()

        restarting = asyncio.create_task(restarts())
        for index, envelope in enumerate(deposits):  # ~150 commands/s
            await publish_until_stored(js, envelope)
            if index % 15 == 0:
                await asyncio.sleep(0.1)
        await restarting

        # The engine catches up by itself.
        last = (await js.stream_info(streams.COMMANDS_STREAM)).state.last_seq
        deadline, state = time.monotonic() + 60, {}
        while time.monotonic() < deadline:
            try:
                state = msgspec.json.decode((await nc.request(RPC_STATE, b"", timeout=5)).data)
                if state["position"] >= last:
                    break
            except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
                pass
            await asyncio.sleep(0.3)
        assert state.get("position", 0) >= last, state
    await nc.close()

    # One receipt per command, and each deposit credited exactly once.
    with psycopg.connect(postgres.dsn) as connection:
        receipts = connection.execute(
            "SELECT count(*) FROM exchange_events WHERE topic = %s", (RECEIPT_TOPIC,)).fetchone()[0]
    assert receipts == len(deposits) + 1
    store = ExchangeStore(postgres.dsn)
    try:
        account = store.repository.get(account_aggregate_id(str(alice.pubkey())))
        assert account.sub(0).balance("USDC") == sum(range(1, len(deposits) + 1))
    finally:
        store.close()
