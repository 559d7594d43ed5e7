"""The one base class of our aggregates: eventsourcing's declarative `Aggregate`, clock-free.

Every command method of a subclass is decorated with `@event("PastTense")` and takes the
command's `at` (int ns) and `seq` (int) first; they become fields of the event. The event's
eventsourcing `timestamp` is derived from `at` (microsecond precision), never from a clock:
`create_timestamp` raises, so a forgotten `at` is a loud error, not a silent clock read.

Event payload rule: besides eventsourcing's own fields, attributes are only int, str, bool,
None, lists and str-keyed dicts of those (JSON-exact, canonically hashable).

Hot paths: `hot_path(Class, "method", ...)` routes the @event command methods run for every
order (OrderPlaced, TradeSettled, CommandRejected) through a lighter trigger: the SAME event
class built with the same attributes, then the same decorated body, version, modified_on and
pending list as eventsourcing's trigger -> mutate -> apply, without its per-call argument
coercion and filtering (~10 -> ~3.5 us per event). Only calls passing every parameter by
keyword take it; any other call, and replay from the store, go through the library unchanged.

Snapshots: `DomainAggregate.Snapshot` (picked up by `Application.take_snapshot`) stores the
aggregate's plain `snapshot_state()` (no pickled objects, no int-keyed dicts) and rebuilds it
with `restore_snapshot_state()`; its timestamp is the aggregate's last event time, not a clock.
"""

import inspect
import types
from datetime import datetime, timedelta, timezone
from typing import Any

from eventsourcing.domain import Aggregate, Snapshot, decorated_func_callers, decorated_funcs
from eventsourcing.utils import get_topic, resolve_topic

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def timestamp_from_ns(at: int) -> datetime:
    """The event timestamp for a command time in ns (truncated to microseconds)."""
    return _EPOCH + timedelta(microseconds=at // 1000)


class DomainAggregate(Aggregate):
    """Base class: events carry `at`/`seq` and a timestamp derived from `at`."""

    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            raise ClockForbidden("domain events take their timestamp from the command's `at`")

    class Created(Event, Aggregate.Created):
        pass

    class Snapshot(Snapshot):
        """A snapshot of plain data, restored through the aggregate's own method."""

        @classmethod
        def take(cls, aggregate: Any) -> Any:
            """Snapshot an aggregate at its current version."""
            return cls(
                originator_id=aggregate.id,
                originator_version=aggregate.version,
                timestamp=aggregate.modified_on,
                topic=get_topic(type(aggregate)),
                state={
                    "created_on_us": _microseconds(aggregate.created_on),
                    "modified_on_us": _microseconds(aggregate.modified_on),
                    "aggregate": aggregate.snapshot_state(),
                },
            )

        def mutate(self, _: Any) -> Any:
            """Rebuild the aggregate from the snapshot."""
            aggregate_class = resolve_topic(self.topic)
            aggregate = object.__new__(aggregate_class)
            aggregate.__base_init__(
                originator_id=self.originator_id,
                originator_version=self.originator_version,
                timestamp=timestamp_from_ns(self.state["created_on_us"] * 1000),
            )
            aggregate.modified_on = timestamp_from_ns(self.state["modified_on_us"] * 1000)
            aggregate.restore_snapshot_state(self.state["aggregate"])
            return aggregate

    def snapshot_state(self) -> dict:
        """Plain data from which `restore_snapshot_state` rebuilds the aggregate (default: the
        canonical `to_state()`)."""
        return self.to_state()  # type: ignore[attr-defined]

    def restore_snapshot_state(self, state: dict) -> None:
        """Set the attributes from `snapshot_state()` data (each aggregate implements it)."""
        raise NotImplementedError

    def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None:
        """Trigger an event stamped with the command time carried in `at`."""
        kwargs["timestamp"] = timestamp_from_ns(_command_time(kwargs, event_class))
        super().trigger_event(event_class, **kwargs)

    @classmethod
    def _create(cls, event_class: type[Any], *, id: Any = None, **kwargs: Any) -> Any:  # noqa: A002
        kwargs["timestamp"] = timestamp_from_ns(_command_time(kwargs, event_class))
        return super()._create(event_class, id=id, **kwargs)


class HotEventMethod:
    """An @event command method with the lighter trigger (see the module docstring)."""

    enabled = True  # tests compare both paths

    def __init__(self, decorator: Any) -> None:
        self.decorator = decorator  # eventsourcing's, for every other kind of call
        self.event_class = decorated_func_callers[decorator]
        self.body = decorated_funcs[self.event_class]
        self.parameters = frozenset(inspect.signature(self.body).parameters) - {"self"}

    def __get__(self, aggregate: Any, owner: type) -> Any:
        if aggregate is None:
            return self.decorator.__get__(None, owner)
        return types.MethodType(self._trigger, aggregate)

    def _trigger(self, aggregate: Any, *args: Any, **kwargs: Any) -> None:
        if args or kwargs.keys() != self.parameters or not HotEventMethod.enabled:
            return self.decorator.__get__(aggregate, type(aggregate))(*args, **kwargs)
        event = self.event_class(
            originator_id=aggregate.id, originator_version=aggregate.version + 1,
            timestamp=timestamp_from_ns(_command_time(kwargs, self.event_class)), **kwargs,
        )
        self.body(aggregate, **kwargs)  # raises before anything is recorded, as mutate() does
        aggregate.version = event.originator_version
        aggregate.modified_on = event.timestamp
        aggregate._pending_events.append(event)  # noqa: SLF001 - as Aggregate.trigger_event
        return None


def hot_path(aggregate_class: type, *method_names: str) -> None:
    """Give these @event command methods of `aggregate_class` the lighter trigger."""
    for name in method_names:
        setattr(aggregate_class, name, HotEventMethod(aggregate_class.__dict__[name]))


def _microseconds(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _command_time(kwargs: dict[str, Any], event_class: type[Any]) -> int:
    at = kwargs.get("at")
    if not isinstance(at, int) or isinstance(at, bool):
        raise ClockForbidden(f"{event_class.__qualname__} needs an int `at` (command time, ns)")
    return at


class ClockForbidden(RuntimeError):
    """An event was about to be stamped without the command's time."""
