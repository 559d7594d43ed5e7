"""Reading the log back from the JetStream events stream `QD_EVT` for a replay.

A stream message (bus/wire.py `EventMessage`) carries the event's position, aggregate, version,
command time `at`, `seq` and its own attributes, but not eventsourcing's topic nor `timestamp`
nor the Created event's `originator_topic`. They are restored exactly: the topic from the
domain's event classes by (aggregate type, event type), `timestamp` from `at` (the domain rule of
domain/aggregate.py), `originator_topic` from the aggregate class. The state is re-encoded with
the mapper's transcoder and then goes through `mapper.to_domain_event` like a stored event, so
upcasters run on old payloads exactly as they do when replaying the store.

The chain cannot be recomputed from a stream message (the stored bytes are not on the wire);
`compare_logs` instead checks the stream event by event against the verified store and names
the first position where they differ.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from eventsourcing.persistence import Mapper
from eventsourcing.utils import get_topic

from audit.chain import LogRow

NON_DOMAIN_TOPIC = "stream:"  # prefix of rows for events outside the domain (receipts)


@dataclass(frozen=True, slots=True)
class EventClass:
    """What the wire leaves out for one (aggregate type, event type)."""

    topic: str
    aggregate_topic: str
    has_originator_topic: bool


def domain_event_classes() -> dict[tuple[str, str], EventClass]:
    """Every event class of the domain's aggregates, keyed as the relay names them."""
    import domain.exchange  # noqa: F401 - imports every aggregate module
    from bus.relay_source import split_topic
    from domain.aggregate import DomainAggregate

    found: dict[tuple[str, str], EventClass] = {}
    pending = list(DomainAggregate.__subclasses__())
    while pending:
        aggregate = pending.pop()
        pending.extend(aggregate.__subclasses__())
        for value in vars(aggregate).values():
            if isinstance(value, type) and issubclass(value, aggregate.Event):
                topic = get_topic(value)
                names = {f.name for f in fields(value)} if is_dataclass(value) else set()
                found[split_topic(topic)] = EventClass(topic, get_topic(aggregate),
                                                       "originator_topic" in names)
    return found


class WireToRows:
    """Turns events-stream messages into log rows the replay applies like stored events."""

    def __init__(self, mapper: Mapper, classes: dict[tuple[str, str], EventClass] | None = None):
        from domain.aggregate import timestamp_from_ns

        self.mapper = mapper
        self.classes = classes if classes is not None else domain_event_classes()
        self.timestamp_from_ns = timestamp_from_ns

    def rows(self, messages: Iterable[Any]) -> Iterator[LogRow]:
        """One LogRow (without chain hashes) per `bus.wire.EventMessage`."""
        from bus import wire

        for message in messages:
            known = self.classes.get((message.aggregate_type, message.event_type))
            originator_id = uuid.UUID(message.aggregate_id)
            if known is None:
                yield LogRow(message.position, originator_id, message.aggregate_version,
                             f"{NON_DOMAIN_TOPIC}{message.aggregate_type}.{message.event_type}", b"")
                continue
            state: dict[str, Any] = {"timestamp": self.timestamp_from_ns(message.at),
                                     "at": message.at, "seq": message.seq}
            if known.has_originator_topic:
                state["originator_topic"] = known.aggregate_topic
            state.update(wire.payload_dict(message))
            yield LogRow(message.position, originator_id, message.aggregate_version, known.topic,
                         self.mapper.transcoder.encode(state))


async def read_events_stream(nats_url: str, timeout: float = 10.0) -> list[Any]:
    """Every message of QD_EVT from the first, decoded (an ordered consumer; blocking reads)."""
    import nats

    from bus import streams, subjects, wire

    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        state = (await js.stream_info(streams.EVENTS_STREAM)).state
        messages: list[Any] = []
        if state.messages == 0 and not state.last_seq:
            return messages
        if state.first_seq != 1 or state.messages != state.last_seq:
            raise StreamIncomplete(
                f"{streams.EVENTS_STREAM} holds {state.messages} messages of sequences "
                f"{state.first_seq}..{state.last_seq}: not the whole log from genesis")
        subscription = await js.subscribe(subjects.EVENTS_ALL, stream=streams.EVENTS_STREAM,
                                          ordered_consumer=True)
        try:
            while len(messages) < state.messages:
                message = await subscription.next_msg(timeout=timeout)
                messages.append(wire.decode(message.data))
        finally:
            await subscription.unsubscribe()
        return messages
    finally:
        await connection.close()


class StreamIncomplete(RuntimeError):
    """The events stream no longer holds every message from the first (limits, deletions)."""


@dataclass(frozen=True, slots=True)
class LogDifference:
    """The first position where two logs disagree."""

    position: int
    reason: str

    def __str__(self) -> str:
        return f"logs differ at position {self.position}: {self.reason}"


def compare_logs(store_rows: Iterable[LogRow], stream_rows: Iterable[LogRow], mapper: Mapper,
                 include: Any = lambda topic: topic.startswith("domain.")) -> LogDifference | None:
    """Compare two logs position by position: same positions, aggregates, versions and, for
    domain events, equal decoded events. None when they agree."""
    stream_iterator = iter(stream_rows)
    for stored in store_rows:
        if stored.state is None:
            continue  # a chain row without its event: the chain verification reports it
        streamed = next(stream_iterator, None)
        if streamed is None:
            return LogDifference(stored.position, f"missing from the stream: {stored.names()}")
        if streamed.position != stored.position:
            return LogDifference(min(stored.position, streamed.position),
                                 f"stream has position {streamed.position} where the store has "
                                 f"{stored.names()}")
        if (streamed.originator_id, streamed.originator_version) != (
                stored.originator_id, stored.originator_version):
            return LogDifference(stored.position, f"aggregate/version differ: stream "
                                 f"{streamed.originator_id} v{streamed.originator_version}, "
                                 f"store {stored.names()}")
        if include(stored.topic):
            if streamed.topic != stored.topic:
                return LogDifference(stored.position, f"event type differs: stream "
                                     f"{streamed.topic}, store {stored.topic}")
            mine, theirs = (mapper.to_domain_event(stored).__dict__,
                            mapper.to_domain_event(streamed).__dict__)  # type: ignore[arg-type]
            if mine != theirs:
                changed = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
                return LogDifference(stored.position, f"{stored.names()} differs in {changed}")
    extra = next(stream_iterator, None)
    if extra is not None:
        return LogDifference(extra.position, "the stream has an event the store does not")
    return None
