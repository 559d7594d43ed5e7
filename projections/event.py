"""The projector's view of one event from the events stream.

Invariant: `position` is the event's global log sequence (strictly increasing along the stream);
a projector's recorded position is the highest `position` it has applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


@dataclass(frozen=True, slots=True)
class ProjectedEvent:
    """One stored event as a projector sees it: where it is in the log, what it is, its payload."""

    position: int
    type: str  # the domain event class name, e.g. OrderPlaced
    aggregate_type: str  # e.g. Market, Account, CommandReceipt
    aggregate_id: str
    version: int
    at: int  # command time, int nanoseconds since the epoch
    seq: int  # command sequence
    key: str = "_"  # the subject's key token: market symbol, or the account owner's pubkey
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def time(self) -> datetime:
        """The command time as an aware UTC datetime (microsecond precision) for time-series rows."""
        return datetime.fromtimestamp(self.at // 1000 / 1_000_000, tz=timezone.utc)

    def get(self, *names: str, default: Any = None) -> Any:
        """The first payload attribute present among `names` (tolerates renamed fields)."""
        for name in names:
            if name in self.payload and self.payload[name] is not None:
                return self.payload[name]
        return default

    def describe(self) -> str:
        """A one-line name for logs and errors: type, position, aggregate."""
        return (f"{self.aggregate_type}.{self.type} at position {self.position}"
                f" (aggregate {self.aggregate_id} v{self.version})")


class PoisonEvent(RuntimeError):
    """An event the projector cannot apply: the projector stops, naming it."""

    def __init__(self, projector: str, event: ProjectedEvent, cause: BaseException) -> None:
        super().__init__(f"projector {projector!r} cannot apply {event.describe()}: "
                         f"{type(cause).__name__}: {cause}")
        self.event = event
        self.cause = cause
