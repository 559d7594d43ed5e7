"""JetStream streams and consumers of QuantDesk, declared once at start-up by :func:`declare`.

``QD_CMD`` (subjects ``qd.cmd.>``) — commands from bots, consumed by the one engine.
    file storage, limits retention (not work-queue: acked commands stay readable for audit and
    so the stream's own timestamp of a command, its time, can be read again on replay);
    max age 7 days, max 1 GiB (discard old: the engine has acted on anything that old; bytes are
    reserved up front by the server, so the cap is modest);
    max message 64 KiB (a command is < 1 KiB; anything bigger is refused by the server with an
    error on the publisher's ack, before it reaches the engine); duplicate window 2 minutes —
    covers a bot's retries across timeouts and reconnects; beyond it the engine refuses a seen
    command id forever, so the window only has to bound the server's memory
    (2 min x 10k commands/s ≈ 1.2M ids, ~100 MB worst case).

``QD_EVT`` (subjects ``qd.evt.>``) — every stored event, published exactly once by the relay.
    file storage, limits retention, NO max age (the stream is a replayable copy of the log,
    audit replays from it), no byte cap of its own: it is bounded by the server's JetStream
    ``max_store``, which each deployment sizes (a byte cap is reserved up front, so a fixed one
    fails on small test servers); the PostgreSQL store stays the source of truth;
    max message 1 MiB (the server's default max payload); duplicate window 2 minutes — a
    backstop only: the relay resumes after the last stored message and guards every publish
    with ``Nats-Expected-Last-Sequence``; deny delete and purge, so nobody can punch holes in it;
    direct get allowed (fast "last message" read at relay start and for readers).

Consumer ``engine`` on ``QD_CMD`` — durable pull, ack all (the ack of a batch's last command
    acknowledges the batch; one replaces the consumer of an older version), deliver all, max ack pending
    20 000 (room for the engine to have a batch in flight while fetching the next; must exceed the
    largest batch), ack wait 10 s (a batch commits in well under a second; after an engine crash the
    unacked commands come back within 10 s), unlimited redeliveries (a command is never dropped:
    the engine answers a poison command with a rejection receipt, then acks it).

Replication: `declare(replicas=...)` or env QD_STREAM_REPLICAS (3 on a cluster); never shrunk implicitly.
"""

from __future__ import annotations

import dataclasses
import logging
import os

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    ReplayPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import APIError, NotFoundError

from bus import subjects

log = logging.getLogger(__name__)

COMMANDS_STREAM = "QD_CMD"
EVENTS_STREAM = "QD_EVT"
ENGINE_CONSUMER = "engine"
STREAM_NAME_IN_USE = 10058  # JetStream API error code

KIB = 1024
GIB = 1024**3
DAY_SECONDS = 24 * 3600.0

COMMANDS = StreamConfig(
    name=COMMANDS_STREAM,
    description="Commands from bots and admins; consumed by the engine.",
    subjects=[subjects.COMMANDS_ALL],
    retention=RetentionPolicy.LIMITS,
    storage=StorageType.FILE,
    discard=DiscardPolicy.OLD,
    max_age=7 * DAY_SECONDS,
    max_bytes=1 * GIB,
    max_msgs=-1,
    max_msg_size=64 * KIB,
    duplicate_window=120.0,
    allow_direct=False,
    num_replicas=None,  # see declare(): QD_STREAM_REPLICAS, else 1 for a new stream
)

EVENTS = StreamConfig(
    name=EVENTS_STREAM,
    description="Every stored event, in log order, exactly once (published by the relay).",
    subjects=[subjects.EVENTS_ALL],
    retention=RetentionPolicy.LIMITS,
    storage=StorageType.FILE,
    discard=DiscardPolicy.OLD,
    max_age=0,
    max_bytes=-1,
    max_msgs=-1,
    max_msg_size=1024 * KIB,
    duplicate_window=120.0,
    deny_delete=True,
    deny_purge=True,
    allow_direct=True,
    num_replicas=None,
)

ENGINE = ConsumerConfig(
    name=ENGINE_CONSUMER,
    durable_name=ENGINE_CONSUMER,
    description="The engine: applies commands in stream order, acks after commit.",
    deliver_policy=DeliverPolicy.ALL,
    # One ack, of a batch's last message, acknowledges the whole batch (commands are applied
    # and committed strictly in stream order; a gap restarts the engine before any ack).
    ack_policy=AckPolicy.ALL,
    ack_wait=10.0,
    max_deliver=-1,
    max_ack_pending=20_000,
    max_waiting=512,
    replay_policy=ReplayPolicy.INSTANT,
)

STREAMS: tuple[StreamConfig, ...] = (COMMANDS, EVENTS)
CONSUMERS: tuple[tuple[str, ConsumerConfig], ...] = ((COMMANDS_STREAM, ENGINE),)

# Fields compared to decide whether an existing stream needs an update.
_COMPARED_FIELDS = (
    "subjects", "retention", "storage", "discard", "max_age", "max_bytes", "max_msgs",
    "max_msg_size", "duplicate_window", "deny_delete", "deny_purge", "allow_direct",
    "num_replicas",
)


async def declare(
    js: JetStreamContext,
    streams: tuple[StreamConfig, ...] = STREAMS,
    consumers: tuple[tuple[str, ConsumerConfig], ...] = CONSUMERS,
    *,
    replicas: int | None = None,
) -> None:
    """Create or update our streams and durable consumers; safe to call from every process.

    `replicas` (default: env QD_STREAM_REPLICAS) sets the streams' replication (3 on a cluster).
    When neither it nor the config says, a new stream gets 1 and an existing one keeps its own, so a process
    started without the setting never shrinks an R3 stream. Streams come before consumers: a
    consumer may not have more replicas than its stream; consumers inherit the stream's.
    """
    if replicas is None and os.environ.get("QD_STREAM_REPLICAS"):
        replicas = int(os.environ["QD_STREAM_REPLICAS"])
    for config in streams:
        await _declare_stream(js, config, replicas)
    for stream_name, config in consumers:
        await _declare_consumer(js, stream_name, config)


async def _declare_consumer(js: JetStreamContext, stream_name: str, config: ConsumerConfig) -> None:
    """CONSUMER.CREATE with a name is create-or-update on nats-server >= 2.10 (idempotent), but
    an ack policy cannot be updated: a consumer declared with another one (by an older version)
    is replaced. Only the engine's consumer is declared here, and the engine positions it from
    the store's committed position at every start, so replacing it loses nothing."""
    try:
        info = await js.consumer_info(stream_name, config.durable_name)
    except NotFoundError:
        info = None
    if info is not None and setting_value(info.config.ack_policy) != setting_value(config.ack_policy):
        log.warning("consumer %s on %s: ack policy %s -> %s; replacing it", config.durable_name,
                    stream_name, setting_value(info.config.ack_policy), setting_value(config.ack_policy))
        await js.delete_consumer(stream_name, config.durable_name)
    await js.add_consumer(stream_name, config)


def setting_value(setting: object) -> object:
    """A config setting as nats-py may give it back: an enum member or its plain value."""
    return setting.value if hasattr(setting, "value") else setting


async def _declare_stream(js: JetStreamContext, config: StreamConfig, replicas: int | None) -> None:
    try:
        info = await js.stream_info(config.name)
    except NotFoundError:
        try:
            await js.add_stream(dataclasses.replace(config, num_replicas=replicas or config.num_replicas or 1))
            return
        except APIError as error:
            if error.err_code != STREAM_NAME_IN_USE:
                raise
            # Another process won the race to create it; fall through and compare.
            info = await js.stream_info(config.name)
    wanted = dataclasses.replace(
        config, num_replicas=replicas or config.num_replicas or info.config.num_replicas or 1)
    if _differs(info.config, wanted):
        await js.update_stream(wanted)


def _differs(current: StreamConfig, wanted: StreamConfig) -> bool:
    return any(  # a field the wanted config leaves unset (None) is not ours to enforce
        getattr(wanted, field) is not None
        and setting_value(getattr(current, field)) != setting_value(getattr(wanted, field))
        for field in _COMPARED_FIELDS
    )
