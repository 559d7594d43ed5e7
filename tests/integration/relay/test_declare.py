"""Streams and consumers are declared by one idempotent call, safe from every process at once."""

import asyncio

import pytest
from nats.js.api import AckPolicy, RetentionPolicy, StorageType

from nats.js.errors import APIError

from bus import streams


async def test_declare_is_idempotent_and_safe_to_race(js):
    # Given streams already declared by the fixture, when three processes declare them at once
    await asyncio.gather(*(streams.declare(js) for _ in range(3)))

    # Then the streams have the stated configuration, unchanged
    commands = (await js.stream_info(streams.COMMANDS_STREAM)).config
    events = (await js.stream_info(streams.EVENTS_STREAM)).config
    assert commands.subjects == ["qd.cmd.>"] and events.subjects == ["qd.evt.>"]
    assert commands.storage == events.storage == StorageType.FILE
    assert commands.retention == events.retention == RetentionPolicy.LIMITS
    assert commands.max_msg_size == 64 * 1024 and commands.duplicate_window == 120.0
    assert events.deny_delete and events.deny_purge and events.max_age == 0
    assert not streams._differs(commands, streams.COMMANDS)
    assert not streams._differs(events, streams.EVENTS)

    # And the engine's durable pull consumer exists, acked a batch at a time
    engine = (await js.consumer_info(streams.COMMANDS_STREAM, streams.ENGINE_CONSUMER)).config
    assert engine.ack_policy == AckPolicy.ALL and engine.max_ack_pending == 20_000
    assert engine.ack_wait == 10.0 and engine.deliver_subject is None


async def test_declare_brings_a_drifted_stream_back_to_its_stated_config(js):
    # Given someone changed the commands stream's duplicate window by hand
    drifted = streams.COMMANDS.evolve(duplicate_window=5.0)
    await js.update_stream(drifted)

    # When a process starts and declares
    await streams.declare(js)

    # Then the stated configuration is back
    assert (await js.stream_info(streams.COMMANDS_STREAM)).config.duplicate_window == 120.0


async def test_declare_replaces_an_engine_consumer_declared_with_another_ack_policy(js):
    # Given an engine consumer left by an older version, with explicit acks
    await js.delete_consumer(streams.COMMANDS_STREAM, streams.ENGINE_CONSUMER)
    await js.add_consumer(streams.COMMANDS_STREAM, streams.ENGINE.evolve(ack_policy=AckPolicy.EXPLICIT))

    # When a process starts and declares (an ack policy cannot be updated in place)
    await streams.declare(js)

    # Then the consumer acks a batch at a time (the engine positions it from the store anyway)
    engine = (await js.consumer_info(streams.COMMANDS_STREAM, streams.ENGINE_CONSUMER)).config
    assert engine.ack_policy == AckPolicy.ALL


async def test_an_oversized_command_is_refused_by_the_server(js):
    # A message bigger than max_msg_size never reaches the engine
    with pytest.raises(APIError, match="(?i)maximum"):
        await js.publish("qd.cmd.place_order", b"x" * (65 * 1024))
