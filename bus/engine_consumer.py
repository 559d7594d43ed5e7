"""Keeping the engine's durable consumer in step with the store's committed position.

The store's position (the commands stream sequence of the last committed command) is the
truth; the consumer's ack state is only a delivery convenience. After a crash the consumer has
messages delivered but unacked: JetStream would hand out NEWER messages first and redeliver the
older ones only when their ack wait expires — out of order. So when the consumer is not exactly
at the committed position, the engine re-creates it to deliver from position+1 (same settings
as `bus.streams.ENGINE`, only the start differs).

Known limit: a re-created consumer's deliver policy differs from `streams.ENGINE`, so other
processes must not re-declare the `engine` consumer (`streams.declare(js, consumers=())`).
"""

from __future__ import annotations

import dataclasses
import logging

from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError

from bus import streams

log = logging.getLogger("bus.engine")


class StreamBehindStore(RuntimeError):
    """The commands stream ends before the store's position: it was replaced; refuse to run."""


async def position_consumer(js, committed_seq: int, *, force: bool = False):
    """Bind the `engine` pull consumer so that its next message is committed_seq + 1."""
    stream = await js.stream_info(streams.COMMANDS_STREAM)
    if stream.state.last_seq < committed_seq:
        raise StreamBehindStore(
            f"{streams.COMMANDS_STREAM} ends at {stream.state.last_seq} but the store has applied "
            f"commands up to {committed_seq}: the stream was replaced; refusing to skip commands"
        )
    try:
        info = await js.consumer_info(streams.COMMANDS_STREAM, streams.ENGINE_CONSUMER)
    except NotFoundError:
        info = None
    in_step = (
        info is not None
        and info.num_ack_pending == 0
        and info.delivered.stream_seq == committed_seq
    )
    if force or not in_step:
        if info is not None:
            await js.delete_consumer(streams.COMMANDS_STREAM, streams.ENGINE_CONSUMER)
        config = streams.ENGINE
        if committed_seq > 0:
            config = dataclasses.replace(
                streams.ENGINE, deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=committed_seq + 1,
            )
        await js.add_consumer(streams.COMMANDS_STREAM, config)
        log.warning("engine consumer positioned at %s", committed_seq + 1)
    return await js.pull_subscribe_bind(
        durable=streams.ENGINE_CONSUMER, stream=streams.COMMANDS_STREAM
    )
