"""Realistic events for tests and benchmarks: drive the real domain (`domain.exchange.Exchange`)
and turn what it records into ProjectedEvents, numbered like the store's log would number them.

Until the engine and relay run end to end, this is how the read side gets true-to-life events
(same payload shapes, same aggregates, same keys as the relay's subjects).
"""

from __future__ import annotations

from typing import Any

from projections.event import ProjectedEvent

_LIFTED = {"timestamp", "originator_topic", "originator_id", "originator_version", "at", "seq"}
_KEY_ATTRIBUTES = {"Market": ("symbol", "market"), "Account": ("owner",), "CommandReceipt": ("owner",)}
BASE_TIME = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z in ns


class DomainScript:
    """Runs use cases on an in-memory Exchange; `events` holds what they recorded, in order."""

    def __init__(self, *, start_time: int = BASE_TIME, step_ns: int = 1_000_000) -> None:
        from domain.exchange import Exchange

        self.exchange = Exchange()
        self.events: list[ProjectedEvent] = []
        self.position = 0
        self.seq = 0
        self.time = start_time
        self.step_ns = step_ns
        self._keys: dict[str, str] = {}

    def __getattr__(self, use_case: str):
        """`script.place_order(owner=..., ...)` runs the use case at the next time and seq."""
        method = getattr(self.exchange, use_case)

        def run(**kwargs: Any) -> Any:
            self.seq += 1
            self.time += self.step_ns
            try:
                return method(self.time, self.seq, **kwargs)
            except Exception as error:  # a domain rejection still records CommandRejected
                from domain.rejections import Rejected

                if not isinstance(error, Rejected):
                    raise
                return error
            finally:
                self._collect()

        return run

    def advance(self, nanoseconds: int) -> None:
        """Move the script's clock (command time) forward."""
        self.time += nanoseconds

    def _collect(self) -> None:
        recorded = []
        for aggregate in self.exchange.collect_changed():
            for event in aggregate.collect_events():
                recorded.append((type(aggregate).__name__, str(aggregate.id), event))
        for aggregate_type, aggregate_id, event in recorded:
            self.position += 1
            state = dict(event.__dict__)
            payload = {k: v for k, v in state.items() if k not in _LIFTED}
            key = next((str(state[name]) for name in _KEY_ATTRIBUTES.get(aggregate_type, ())
                        if state.get(name)), None) or self._keys.get(aggregate_id, "_")
            self._keys[aggregate_id] = key
            self.events.append(ProjectedEvent(
                position=self.position, type=type(event).__name__, aggregate_type=aggregate_type,
                aggregate_id=aggregate_id, version=event.originator_version,
                at=int(state.get("at", self.time)), seq=int(state.get("seq", self.seq)),
                key=key, payload=_plain(payload)))


def _plain(value: Any) -> Any:
    """JSON-safe copy (enums to their values), as the relay's JSON would carry it."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "value") and not isinstance(value, (int, str)):
        return value.value
    return value
