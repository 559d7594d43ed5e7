"""Keeping the engine's durable consumer in step with the store's committed position.

The store's position (the commands stream sequence of the last committed command) is the
truth; the consumer's ack state is only a delivery convenience. After a crash the consumer has
messages delivered but unacked: JetStream would hand out NEWER messages first and redeliver the
older ones only when their ack wait expires — out of order. So when the consumer is not exactly
at the committed position, the engine resets it (JetStream's consumer reset API, nats-server
>= 2.14: `$JS.API.CONSUMER.RESET.<stream>.<consumer>` with `{"seq": N}`) so that its next
message is position+1. The reset clears the pending acks and keeps the declared configuration,
so `bus.streams.declare` stays valid from every process.
"""

from __future__ import annotations

import json
import logging

from nats.js.errors import NotFoundError

from bus import streams
from bus.puller import Puller

log = logging.getLogger("bus.engine")


MIN_SERVER = (2, 14)  # the first nats-server with the consumer reset API


class StreamBehindStore(RuntimeError):
    """The commands stream ends before the store's position: it was replaced; refuse to run."""


class ServerTooOld(RuntimeError):
    """The NATS server has no consumer reset API: the engine could not resume exactly."""


def check_server_version(version) -> None:
    """Refuse, saying why, a nats-server older than MIN_SERVER (`version`: nats-py's
    `ServerVersion` of the connection), rather than time out on the first reset after a crash."""
    if (version.major, version.minor) < MIN_SERVER:
        raise ServerTooOld(
            f"nats-server {version.major}.{version.minor}.{version.patch} has no consumer reset ($JS.API.CONSUMER.RESET, nats-server >= "
            f"{MIN_SERVER[0]}.{MIN_SERVER[1]}), which the engine needs to resume exactly after a crash")


async def position_consumer(js, committed_seq: int, *, force: bool = False) -> Puller:
    """Position the `engine` pull consumer so that its next message is committed_seq + 1, and
    start pulling from it (bus.puller: messages stream in while the engine works)."""
    check_server_version(js._nc.connected_server_version)
    stream = await js.stream_info(streams.COMMANDS_STREAM)
    if stream.state.last_seq < committed_seq:
        raise StreamBehindStore(
            f"{streams.COMMANDS_STREAM} ends at {stream.state.last_seq} but the store has applied "
            f"commands up to {committed_seq}: the stream was replaced; refusing to skip commands"
        )
    try:
        info = await js.consumer_info(streams.COMMANDS_STREAM, streams.ENGINE_CONSUMER)
    except NotFoundError:
        await js.add_consumer(streams.COMMANDS_STREAM, streams.ENGINE)  # same as the bootstrap's
        info = await js.consumer_info(streams.COMMANDS_STREAM, streams.ENGINE_CONSUMER)
    in_step = info.num_ack_pending == 0 and info.delivered.stream_seq == committed_seq
    reset = force or not in_step
    if reset:
        await reset_consumer(js, committed_seq + 1)
    # A reset numbers the consumer's deliveries from 1 again; otherwise they go on from its count.
    delivered = 0 if reset else info.delivered.consumer_seq
    puller = Puller(js._nc, streams.COMMANDS_STREAM, streams.ENGINE_CONSUMER, delivered=delivered)
    await puller.start()
    return puller


async def reset_consumer(js, next_seq: int) -> None:
    """Make `next_seq` the next message the engine consumer delivers; pending acks are dropped."""
    subject = f"$JS.API.CONSUMER.RESET.{streams.COMMANDS_STREAM}.{streams.ENGINE_CONSUMER}"
    response = await js._nc.request(subject, json.dumps({"seq": next_seq}).encode(), timeout=5)
    body = json.loads(response.data)
    if "error" in body:
        raise RuntimeError(f"consumer reset to {next_seq} failed: {body['error']}")
    log.warning("engine consumer reset: next message is %s", next_seq)
