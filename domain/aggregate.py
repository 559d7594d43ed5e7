"""The one base class of our aggregates: eventsourcing's declarative `Aggregate`, clock-free.

Every command method of a subclass is decorated with `@event("PastTense")` and takes the
command's `at` (int ns) and `seq` (int) first; they become fields of the event. The event's
eventsourcing `timestamp` is derived from `at` (microsecond precision), never from a clock:
`create_timestamp` raises, so a forgotten `at` is a loud error, not a silent clock read.

Event payload rule: besides eventsourcing's own fields, attributes are only int, str, bool,
None, lists and str-keyed dicts of those (JSON-exact, canonically hashable).
"""

from datetime import datetime, timedelta, timezone
from typing import Any

from eventsourcing.domain import Aggregate

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

    def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None:
        """Trigger an event stamped with the command time carried in `at`."""
        kwargs["timestamp"] = timestamp_from_ns(_command_time(kwargs, event_class))
        super().trigger_event(event_class, **kwargs)

    @classmethod
    def _create(cls, event_class: type[Any], *, id: Any = None, **kwargs: Any) -> Any:  # noqa: A002
        kwargs["timestamp"] = timestamp_from_ns(_command_time(kwargs, event_class))
        return super()._create(event_class, id=id, **kwargs)


def _command_time(kwargs: dict[str, Any], event_class: type[Any]) -> int:
    at = kwargs.get("at")
    if not isinstance(at, int) or isinstance(at, bool):
        raise ClockForbidden(f"{event_class.__qualname__} needs an int `at` (command time, ns)")
    return at


class ClockForbidden(RuntimeError):
    """An event was about to be stamped without the command's time."""
