"""Follow the account events of `QD_EVT` from just after a log position.

The relay publishes in log order with header `Qd-Position`, so the stream sequence of the first
event after position P is found by binary search over stream sequences (`get_msg`, ~log2(n)
reads); an ordered push consumer then delivers `qd.evt.account.>` from there. Only account
events move money, so the others are filtered out by the server.
"""

from __future__ import annotations

import msgspec
import nats
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from bus import streams, subjects, wire

ACCOUNT_EVENTS = f"{subjects.EVENTS_PREFIX}.{subjects.SCOPE_ACCOUNT}.>"


async def first_sequence_after(js: JetStreamContext, position: int) -> int:
    """The stream sequence of the first message whose log position is > ``position``."""
    info = await js.stream_info(streams.EVENTS_STREAM)
    low, high = info.state.first_seq, info.state.last_seq + 1  # answer in [low, high]
    while low < high:
        middle = (low + high) // 2
        try:
            message = await js.get_msg(streams.EVENTS_STREAM, middle)
        except nats.js.errors.NotFoundError:  # a deleted message: look right of it
            low = middle + 1
            continue
        if int(message.headers[subjects.HEADER_POSITION]) > position:
            high = middle
        else:
            low = middle + 1
    return max(low, 1)


class AccountEventFeed:
    """Account events in log order, starting after a given log position."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self.subscription = None

    async def start_after(self, position: int) -> None:
        """(Re)subscribe so that the next event is the first one after ``position``."""
        await self.close()
        start = await first_sequence_after(self.js, position)
        self.subscription = await self.js.subscribe(
            ACCOUNT_EVENTS, stream=streams.EVENTS_STREAM, ordered_consumer=True,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start))

    async def next(self, timeout: float) -> tuple[str, wire.EventMessage] | None:
        """(owner, event), or None when nothing arrived within ``timeout`` seconds."""
        try:
            message = await self.subscription.next_msg(timeout=timeout)
        except (nats.errors.TimeoutError, TimeoutError):
            return None
        _scope, owner, _type = subjects.parse_event(message.subject)
        return owner, wire.decode(message.data)

    async def close(self) -> None:
        if self.subscription is not None:
            await self.subscription.unsubscribe()
            self.subscription = None


def payload(event: wire.EventMessage) -> dict:
    """The event's attributes."""
    return msgspec.json.decode(event.payload)
