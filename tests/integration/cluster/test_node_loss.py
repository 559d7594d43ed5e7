"""A JetStream node dies under load: nothing is lost, nothing is duplicated, services carry on.

Three nats-server processes run clustered over loopback; the commands and events streams are
replicated on all three (R3). The real engine, relay and receipts projector run as processes
connected to node 0, which is also made the commands stream's leader. Bots (the real bot
client), half on node 0 and half on node 1, send a steady, bounded stream of signed orders.
Node 0 is SIGKILLed mid-load and restarted a few seconds later. Afterwards:

- every command a bot sent has exactly one outcome, and every accepted one its receipt exactly
  once on the events stream and once in the projected receipts table;
- the events stream holds every stored event once: stream sequences 1..N without a gap, log
  positions strictly increasing, the same count as the store;
- the engine, relay and projector processes never exited: they reconnected on their own.

The projector is supervised as `qd run`, compose and a liveness probe would (restarted if it
exits or stalls), so the data checks hold either way; but it must not have needed it: it resumes
from its recorded position by itself when a node or its connection goes away.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import time
import uuid

import msgspec
import nats
import psycopg
import pytest
from solders.keypair import Keypair

from bus import streams, subjects, wire
from client import BotClient
from commands import messages
from deploy.local.cluster import NatsCluster
from projections.catalog import active_schema
from tests.integration.cluster.bot_load import (
    USDC,
    Retrying,
    SteadyLoad,
    close_clients,
    list_market_and_fund,
)

pytestmark = pytest.mark.slow

LOAD_SECONDS = 24.0
# Node 0 is down for 16 s: longer than JetStream's raft election timeout (4-9 s) plus reconnects,
# plus an engine restart (a failover can leave a gap in what the engine's consumer delivers)
KILL_AT, RESTART_AT = 3.0, 19.0
BOTS = 4
CAREFUL = Retrying(reply_timeout=3.0, retry_every=0.3)


def replicated(config, replicas: int = 3):
    """A stream config of bus.streams with `replicas` (bus.streams has no parameter for it yet)."""
    return dataclasses.replace(config, num_replicas=replicas)


async def lead_on(nc, stream: str, server_name: str, attempts: int = 5) -> bool:
    """Ask the stream's leader to step down in favour of `server_name`; True once it leads."""
    js = nc.jetstream()
    for _ in range(attempts):
        if (await js.stream_info(stream)).cluster.leader == server_name:
            return True
        request = msgspec.json.encode({"placement": {"preferred": server_name}})
        try:
            await nc.request(f"$JS.API.STREAM.LEADER.STEPDOWN.{stream}", request, timeout=5)
        except nats.errors.Error:
            pass
        await asyncio.sleep(1.0)
    return (await js.stream_info(stream)).cluster.leader == server_name


async def price_feed(operator: BotClient, until: float) -> None:
    """Keep the SOL oracle price fresh (orders need a valid oracle), as the price feed does."""
    number = 0
    while time.monotonic() < until:
        await asyncio.sleep(2.0)
        number += 1
        price = messages.SetOraclePrice(symbol="SOL", price=100 * USDC)
        await CAREFUL.send(operator, price, f"price-{number}-{uuid.uuid4().hex[:6]}", until + 60)


async def read_events_stream(js) -> list:
    """Every message of QD_EVT in stream order, through an ordered consumer from the start."""
    total = (await js.stream_info(streams.EVENTS_STREAM)).state.messages
    subscription = await js.subscribe(subjects.EVENTS_ALL, stream=streams.EVENTS_STREAM,
                                      ordered_consumer=True)
    try:
        return [await subscription.next_msg(timeout=10) for _ in range(total)]
    finally:
        await subscription.unsubscribe()


async def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.25)


async def test_killing_a_node_mid_load_loses_and_duplicates_nothing(
        nats_cluster: NatsCluster, services, fresh_pg_dsn):
    node0, node1 = nats_cluster.urls[0], nats_cluster.urls[1]
    admin = Keypair()

    # The streams are declared replicated on all three nodes; node 0 leads the commands stream
    nc = await nats.connect(nats_cluster.urls, max_reconnect_attempts=-1)
    js = nc.jetstream()
    await streams.declare(js, tuple(replicated(config) for config in streams.STREAMS), consumers=())
    assert (await js.stream_info(streams.COMMANDS_STREAM)).config.num_replicas == 3
    commands_led_by_killed_node = await lead_on(nc, streams.COMMANDS_STREAM,
                                                nats_cluster.server_name(nats_cluster.nodes[0]))

    # The real engine, relay and receipts projector run as processes against node 0
    services.start("engine", "bus.engine", "--nats", node0, "--pg", fresh_pg_dsn,
                   "--admin", str(admin.pubkey()), "--batch-size", "200")
    services.start("relay", "bus.relay", "--nats", node0, "--pg", fresh_pg_dsn)
    services.start("projector", "projections.run", "receipts", "--nats", node0, "--pg", fresh_pg_dsn)

    async def supervise_projector() -> None:
        while True:
            await asyncio.sleep(0.5)
            services.restart_if_exited("projector")
    supervisor = asyncio.create_task(supervise_projector())

    # The operator lists SOL-PERP; each bot opens its account and is funded
    operator = await BotClient.connect(node1, admin)
    bots = [await BotClient.connect(node0 if i % 2 else node1, Keypair()) for i in range(BOTS)]
    try:
        await list_market_and_fund(CAREFUL, operator, bots, time.monotonic() + 60)

        # A steady load runs; node 0 is SIGKILLed mid-load and restarted a few seconds later
        load = SteadyLoad(CAREFUL, bots, LOAD_SECONDS, id_prefix="b", clock=time.monotonic)
        outcomes, answered_at = load.outcomes, load.answered_at
        feed = asyncio.create_task(price_feed(operator, load.until))
        await asyncio.sleep(KILL_AT)
        sent_before_kill = len(outcomes)
        killed_at = time.monotonic()
        nats_cluster.nodes[0].kill()
        await asyncio.sleep(RESTART_AT - KILL_AT)
        restarted_at = time.monotonic()
        await asyncio.to_thread(nats_cluster.restart, 0)
        await asyncio.gather(load.finished(), feed)

        # The two remaining nodes carried the load while node 0 was down
        after_kill = [t for t in answered_at if t > killed_at]
        assert sent_before_kill > 20 and after_kill, (sent_before_kill, len(after_kill))
        times = sorted(answered_at)
        longest_pause = max(b - a for a, b in zip(times, times[1:]) if b > killed_at and a < restarted_at)
        answered_while_down = sum(1 for t in after_kill if t < restarted_at)
        assert answered_while_down > 0, f"nothing answered in the {RESTART_AT - KILL_AT:.0f} s node 0 was down"

        print(f"rejections: {collections.Counter(r.reason for r in outcomes.values() if not r.accepted)}")

        # Every command has one outcome; the store answers each with the same outcome
        accepted = {key: receipt for key, receipt in outcomes.items() if receipt.accepted}
        assert len(accepted) > 50, f"too few accepted: {len(accepted)} of {len(outcomes)}"
        for (owner, command_id), receipt in accepted.items():
            assert receipt.command_id == command_id and receipt.owner == owner

        # The relay has published everything stored: same count as the store, no gap, no repeat
        with psycopg.connect(fresh_pg_dsn) as conn:
            async def relayed_all() -> bool:
                stored = conn.execute("SELECT count(*) FROM exchange_events").fetchone()[0]
                return (await js.stream_info(streams.EVENTS_STREAM)).state.messages == stored
            await wait_for(relayed_all, 60, "the relay to publish every stored event")
            stored, last_position = conn.execute(
                "SELECT count(*), max(notification_id) FROM exchange_events").fetchone()
        events = await read_events_stream(js)
        sequences = [message.metadata.sequence.stream for message in events]
        positions = [int(message.headers[subjects.HEADER_POSITION]) for message in events]
        assert sequences == list(range(1, stored + 1))
        assert all(a < b for a, b in zip(positions, positions[1:])) and positions[-1] == last_position

        # Each accepted command's receipt is on the events stream exactly once
        receipts: dict[tuple[str, str], int] = {}
        for message in events:
            event = wire.decode(message.data)
            if event.aggregate_type == "CommandReceipt":
                payload = wire.payload_dict(event)
                key = (payload["owner"], payload["command_id"])
                receipts[key] = receipts.get(key, 0) + 1
        assert all(receipts.get(key) == 1 for key in outcomes), \
            {key: receipts.get(key) for key in outcomes if receipts.get(key) != 1}

        # ... and once in the projected receipts table, which caught up by itself
        stalled = False
        with psycopg.connect(fresh_pg_dsn, autocommit=True) as conn:
            async def projected_all() -> bool:
                schema = active_schema(conn, "receipts")
                if schema is None:
                    return False
                count = conn.execute(f"SELECT count(*) FROM {schema}.command_receipts").fetchone()[0]
                return count >= len(receipts)
            try:
                await wait_for(projected_all, 20, "the receipts projector to catch up")
            except AssertionError:
                # Stalled without exiting: a liveness probe would restart it; it resumes from
                # its recorded position, so the checks below still hold
                stalled = True
                services.processes["projector"].kill()
                await wait_for(projected_all, 60, "the restarted receipts projector to catch up")
            schema = active_schema(conn, "receipts")
            rows = conn.execute(f"SELECT owner, client_command_id, outcome FROM {schema}.command_receipts"
                                ).fetchall()
        projected = {(owner, command_id): outcome for owner, command_id, outcome in rows}
        assert len(rows) == len(projected) == len(receipts)
        for key, receipt in outcomes.items():
            assert projected[key] == ("accepted" if receipt.accepted else "rejected")

        print(f"cluster node loss: {len(outcomes)} commands ({len(accepted)} accepted), {stored} events; "
              f"longest pause in receipts {longest_pause:.1f} s, {answered_while_down} answered while down; "
              f"commands stream led by the killed node: {commands_led_by_killed_node}")
        # The services reconnected on their own: none of them exited
        exited = services.exited()
        assert "engine" not in exited and "relay" not in exited, {n: services.log(n) for n in exited}
        assert "projector" not in exited and not stalled, services.log("projector", 0)
    finally:
        supervisor.cancel()
        await close_clients((operator, *bots))
        await nc.close()
