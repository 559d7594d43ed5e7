"""From events-stream messages (bus.wire) to ProjectedEvents, and back for tests and benchmarks."""

from __future__ import annotations

from typing import Any

from bus import subjects, wire
from projections.event import ProjectedEvent


def from_message(subject: str, data: bytes) -> ProjectedEvent:
    """Decode one events-stream message (strict: anything but an EventMessage raises)."""
    message = wire.decode(data)
    try:
        _, key, _ = subjects.parse_event(subject)
    except ValueError:
        key = subjects.NO_KEY
    return ProjectedEvent(
        position=message.position, type=message.event_type,
        aggregate_type=message.aggregate_type, aggregate_id=message.aggregate_id,
        version=message.aggregate_version, at=message.at, seq=message.seq, key=key,
        payload=wire.payload_dict(message))


def to_message(event: ProjectedEvent) -> tuple[str, bytes]:
    """The subject and wire bytes the relay would publish for `event`."""
    scope = subjects.scope_of(event.aggregate_type)
    message = wire.EventMessage(
        position=event.position, event_type=event.type, aggregate_type=event.aggregate_type,
        aggregate_id=event.aggregate_id, aggregate_version=event.version, at=event.at,
        seq=event.seq, payload=wire.raw_payload(event.payload))
    return subjects.event(scope, event.key, event.type), wire.encode(message)


def make_event(position: int, aggregate_type: str, event_type: str, key: str,
               payload: dict[str, Any], *, at: int | None = None, seq: int | None = None,
               aggregate_id: str | None = None, version: int = 1) -> ProjectedEvent:
    """A ProjectedEvent built by hand (tests, benchmarks, synthetic events of future issues)."""
    return ProjectedEvent(
        position=position, type=event_type, aggregate_type=aggregate_type,
        aggregate_id=aggregate_id or f"{aggregate_type.lower()}:{key}", version=version,
        at=at if at is not None else 1_767_225_600_000_000_000 + position * 1_000_000,
        seq=seq if seq is not None else position, key=key, payload=payload)
