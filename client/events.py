"""Following events: an ordered JetStream consumer on one account's (or market's) subjects.

An ordered consumer is ephemeral, flow-controlled and re-created by nats-py from the last
sequence it delivered if it misses a message, so the bot sees each event once, in log order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from bus import streams, wire


class EventFeed:
    """An async iterator of ``wire.EventMessage`` on one filter subject of ``QD_EVT``."""

    def __init__(self, js: JetStreamContext, filter_subject: str, *, from_start: bool = False) -> None:
        self.js = js
        self.filter_subject = filter_subject
        self.from_start = from_start
        self._subscription = None

    async def start(self) -> "EventFeed":
        """Create the ordered consumer (events from now on, or from the start of the stream)."""
        self._subscription = await self.js.subscribe(
            self.filter_subject,
            stream=streams.EVENTS_STREAM,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL if self.from_start else DeliverPolicy.NEW,
        )
        return self

    async def next(self, timeout: float = 5.0) -> wire.EventMessage:
        """The next event (raises ``nats.errors.TimeoutError`` after ``timeout`` seconds)."""
        if self._subscription is None:
            await self.start()
        message = await self._subscription.next_msg(timeout=timeout)
        return wire.decode(message.data)

    async def __aiter__(self) -> AsyncIterator[wire.EventMessage]:
        if self._subscription is None:
            await self.start()
        async for message in self._subscription.messages:
            yield wire.decode(message.data)

    async def close(self) -> None:
        """Delete the ephemeral consumer."""
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None
