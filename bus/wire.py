"""The wire format of the events stream ``QD_EVT``: one ``EventMessage`` per stored event.

Each message is the JSON encoding of :class:`EventMessage` (tagged ``"kind": "event"``), sent on
``qd.evt.<scope>.<key>.<EventType>`` with headers ``Nats-Msg-Id`` and ``Qd-Position`` both equal
to ``position``. ``EventsStreamMessage`` is the one union of the stream: a typed decoder refuses
anything else.

Fields:
    position           the event's notification id in the store: the global log sequence
                       (strictly increasing along the stream; may skip numbers the store skipped)
    event_type         the domain event class name, e.g. ``Deposited``
    aggregate_type     the aggregate class name, e.g. ``Account``
    aggregate_id       the aggregate's UUID, as text
    aggregate_version  the aggregate's version after this event (1 = created)
    at                 the command time, int nanoseconds (stream timestamp of the command)
    seq                the domain's event sequence number (the consistency token)
    payload            JSON object of the domain event's own attributes (without the fields
                       above and without eventsourcing's ``timestamp``), kept as raw JSON bytes
                       so a relay or a projector need not decode what it does not read

Schema rules: new fields get defaults; existing fields never change type.
"""

from __future__ import annotations

from typing import Any, TypeVar, Union

import msgspec

T = TypeVar("T")


class EventMessage(msgspec.Struct, frozen=True, kw_only=True, tag="event", tag_field="kind"):
    """One stored domain event, as published on the events stream."""

    position: int
    event_type: str
    aggregate_type: str
    aggregate_id: str
    aggregate_version: int
    at: int
    seq: int
    payload: msgspec.Raw


# The one union of the events stream (more message kinds join here, each with its own tag).
EventsStreamMessage = Union[EventMessage]

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(EventsStreamMessage)
_payload_decoder = msgspec.json.Decoder(dict[str, Any])


def encode(message: EventMessage) -> bytes:
    """The message's wire bytes (compact JSON)."""
    return _encoder.encode(message)


def decode(data: bytes) -> EventMessage:
    """Decode wire bytes strictly; raises ``msgspec.DecodeError`` / ``ValidationError``."""
    return _decoder.decode(data)


def payload_dict(message: EventMessage) -> dict[str, Any]:
    """The event's own attributes as a dict."""
    return _payload_decoder.decode(message.payload)


def payload_as(message: EventMessage, type_: type[T]) -> T:
    """The event's attributes decoded into ``type_`` (e.g. a projector's own Struct)."""
    return msgspec.json.decode(message.payload, type=type_)


def raw_payload(attributes: dict[str, Any]) -> msgspec.Raw:
    """Encode attributes for ``EventMessage.payload``."""
    return msgspec.Raw(_encoder.encode(attributes))


def json_schema() -> dict[str, Any]:
    """The JSON schema of the events stream's messages (``payload`` as an object)."""
    return msgspec.json.schema(EventsStreamMessage)
