"""What the relay reads: the store's notification log, turned into events-stream messages.

``StoreSource.read(after, limit)`` returns the next stored events after log position ``after``,
in log order, each as an :class:`Outgoing` (subject, wire bytes, position). Reading changes
nothing, so reading ahead or reading twice is always safe.

Routing (see ``bus.subjects``): the scope comes from the aggregate class named in the event's
topic; the key of an ``account``/``receipt``/``market`` event is its key attribute (``owner``,
``market``, ...) when the event carries it, otherwise the same attribute of the aggregate's first
event (looked up once per aggregate, then cached). The routing of a position is therefore the
same on every run, which exactly-once publishing relies on.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from eventsourcing.persistence import JSONTranscoder, Mapper, Notification

from bus import subjects, wire

# eventsourcing and envelope fields lifted out of the payload (or meaningless on the wire).
_LIFTED = frozenset({"timestamp", "originator_topic", "originator_id", "originator_version",
                     "at", "seq"})
_NOT_A_TOKEN = re.compile(r"[\s.*>]")
_MAX_CACHED_KEYS = 1_000_000


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to publish on the events stream."""

    position: int
    subject: str
    data: bytes


class StoreSource:
    """Reads the notification log of an eventsourcing PostgreSQL application recorder."""

    def __init__(self, recorder: Any, mapper: Mapper, owner: object = None) -> None:
        self.owner = owner  # whatever must stay alive for the recorder to work
        self.recorder = recorder
        self.mapper = mapper
        # eventsourcing's JSON format (also written by the engine's msgspec transcoder).
        self._plain_json = (
            isinstance(mapper.transcoder, JSONTranscoder) and not mapper.cipher and not mapper.compressor
        )
        self._keys: dict[str, str] = {}  # aggregate id -> subject key
        self._subjects: dict[tuple[str, str, str], str] = {}

    def read(self, after: int, limit: int) -> list[Outgoing]:
        """The next ``limit`` stored events after log position ``after`` (blocking I/O)."""
        notifications = self.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )
        return [self.to_outgoing(notification) for notification in notifications]

    def max_position(self) -> int:
        """The highest log position stored so far (0 when empty)."""
        return self.recorder.max_notification_id() or 0

    def to_outgoing(self, notification: Notification) -> Outgoing:
        """Route and encode one stored event."""
        state = self._decode_state(notification.state)
        aggregate_type, event_type = split_topic(notification.topic)
        scope = subjects.scope_of(aggregate_type)
        aggregate_id = str(notification.originator_id)
        key = self._key(scope, aggregate_id, state)
        payload = {name: value for name, value in state.items() if name not in _LIFTED}
        message = wire.EventMessage(
            position=notification.id,
            event_type=event_type,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            aggregate_version=notification.originator_version,
            at=_int(state.get("at")),
            seq=_int(state.get("seq")),
            payload=wire.raw_payload(payload),
        )
        return Outgoing(notification.id, self._subject(scope, key, event_type), wire.encode(message))

    def _subject(self, scope: str, key: str, event_type: str) -> str:
        route = (scope, key, event_type)
        subject = self._subjects.get(route)
        if subject is None:
            if len(self._subjects) >= _MAX_CACHED_KEYS:
                self._subjects.clear()
            subject = self._subjects[route] = subjects.event(scope, key, event_type)
        return subject

    def _decode_state(self, stored: bytes) -> dict[str, Any]:
        if self._plain_json:
            # Our payloads are plain JSON (domain rule); only `timestamp` is an encoded custom
            # type, and it is dropped, so msgspec can skip eventsourcing's object hooks.
            return msgspec.json.decode(stored)
        if self.mapper.cipher:
            stored = self.mapper.cipher.decrypt(stored)
        if self.mapper.compressor:
            stored = self.mapper.compressor.decompress(stored)
        return self.mapper.transcoder.decode(stored)

    def _key(self, scope: str, aggregate_id: str, state: dict[str, Any]) -> str:
        attributes = subjects.KEY_ATTRIBUTES.get(scope)
        if attributes is None:
            return subjects.NO_KEY
        key = _first_attribute(state, attributes)
        if key is None:
            key = self._keys.get(aggregate_id)
            if key is None:
                key = self._key_from_first_event(aggregate_id, attributes)
        if len(self._keys) >= _MAX_CACHED_KEYS:
            self._keys.clear()
        self._keys[aggregate_id] = key
        return key

    def _key_from_first_event(self, aggregate_id: str, attributes: Sequence[str]) -> str:
        import uuid

        stored = self.recorder.select_events(uuid.UUID(aggregate_id), lte=1, limit=1)
        if not stored:
            return subjects.NO_KEY
        return _first_attribute(self._decode_state(stored[0].state), attributes) or subjects.NO_KEY


@functools.lru_cache(maxsize=4096)
def split_topic(topic: str) -> tuple[str, str]:
    """``domain.account:Account.Deposited`` -> (``Account``, ``Deposited``)."""
    module, _, qualname = topic.partition(":")
    owner_name, _, event_name = qualname.rpartition(".")
    if not owner_name:
        # A top-level event class: name the scope after its module (``domain.oracle`` -> Oracle).
        owner_name = module.rpartition(".")[2].title().replace("_", "")
    return owner_name.rpartition(".")[2], event_name


def _first_attribute(state: dict[str, Any], names: Sequence[str]) -> str | None:
    for name in names:
        value = state.get(name)
        if isinstance(value, str) and value:
            return _NOT_A_TOKEN.sub("_", value)
    return None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
