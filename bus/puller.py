"""A lean pull from a durable JetStream consumer: one inbox, one outstanding pull request,
messages buffered in stream order as they arrive. Used by the engine (commands) and by every
projector (events).

Why not `PullSubscription.fetch`: it awaits each message with its own timeout, which costs more
than projecting the event. Here a core subscription's callback appends to a buffer, so the next
batch streams in while the current one is being written to PostgreSQL (pipelining).

For the engine the same holds at the other end: commands keep streaming into the buffer while
the previous batch is verified and applied, so a batch is taken without a round trip, and never
waits out a timeout for a batch that cannot fill.

Protocol: a request `{"batch": n, "no_wait": true}` returns what is available now and ends with
a 404/408 status when it could not fill the batch; when nothing was available a lingering
request `{"batch": n, "expires": t}` waits for new messages. At most one request is outstanding,
so its remaining count is exact. `ack` sends `+ACK` for one message: under AckPolicy.ALL (the
engine and the projectors) that acknowledges everything before it too.

Lost deliveries: JetStream numbers every delivery of a consumer, redeliveries included (the
consumer sequence of the ack subject), so with one puller per consumer what arrives is numbered
without a gap. A gap means deliveries went astray (e.g. routed through a cluster node as it
died or rejoined): the consumer counts them as delivered and would hand them out again only
after its ack wait (30 s), while a cumulative ack of a later message would acknowledge them
unapplied. So nothing after a gap is taken: `fetch` hands out what came before it, then raises
`DeliveryLost`, and the caller resumes from its recorded position. Lost deliveries with nothing
after them leave no gap to see: an idle caller asks the consumer (`missed`).
"""

from __future__ import annotations

import asyncio
import json

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg

STATUS_HEADER = "Status"
REQUEST_GRACE = 5.0  # seconds past a request's expiry before it counts as lost
HEARTBEAT = "100"


class DeliveryLost(nats.errors.Error):
    """Deliveries of the consumer never arrived: resume from the recorded position."""


def delivery_numbers(ack_subject: str) -> tuple[int, int, int]:
    """(stream sequence, consumer sequence, timestamp ns) of a delivery, from its ack subject,
    losslessly (nats-py's `metadata.timestamp` is a float-based datetime):
    `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` (v1) or
    `$JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>...` (v2).
    """
    tokens = ack_subject.split(".")
    at = 5 if len(tokens) == 9 else 7
    return int(tokens[at]), int(tokens[at + 1]), int(tokens[at + 2])


class Puller:
    """Pulls from `durable` on `stream`; `fetch` returns up to `batch` messages in order."""

    def __init__(self, nc: Client, stream: str, durable: str, *, delivered: int = 0) -> None:
        """`delivered`: the consumer's delivered count (consumer sequence) when we start pulling
        from a consumer that has delivered before, so that the first delivery is checked too."""
        self.nc = nc
        self.stream, self.durable = stream, durable
        self.request_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self.buffer: list[Msg] = []
        self.outstanding = 0  # messages the open request may still deliver
        self.lingering = False  # whether the open request waits for new messages
        self.changed = asyncio.Event()
        self.request_lost_after = 0.0  # loop time after which the open request must have ended
        self.inbox = ""
        self.subscription = None
        self.delivered = delivered  # consumer sequence of the last message taken in (0: none yet)
        self.lost = False  # a delivery went astray: nothing after it is taken

    async def start(self) -> None:
        self.inbox = self.nc.new_inbox()
        self.subscription = await self.nc.subscribe(self.inbox, cb=self._on_message, pending_msgs_limit=-1,
                                                    pending_bytes_limit=-1)

    async def stop(self) -> None:
        if self.subscription is not None:
            await self.subscription.unsubscribe()

    async def _on_message(self, msg: Msg) -> None:
        status = msg.headers.get(STATUS_HEADER) if msg.headers else None
        if status is None:
            self.outstanding = max(0, self.outstanding - 1)
            sequence = delivery_numbers(msg.reply)[1]
            if self.delivered and sequence != self.delivered + 1:
                self.lost = True
            if not self.lost:
                self.buffer.append(msg)
                self.delivered = sequence
        elif status != HEARTBEAT:
            self.outstanding = 0  # 404 no messages, 408 expired, 409 …: the request is over
        self.changed.set()

    async def _request(self, batch: int, *, wait: float | None) -> None:
        body = {"batch": batch, "no_wait": True} if wait is None else {
            "batch": batch, "expires": int(wait * 1e9)}
        self.outstanding = batch
        self.lingering = wait is not None
        # A request ends with messages or a status; if neither came by then, the server that
        # held it is gone (e.g. a cluster node died) and it never will.
        self.request_lost_after = asyncio.get_running_loop().time() + (wait or 0.0) + REQUEST_GRACE
        self.changed.clear()
        await self.nc.publish(self.request_subject, json.dumps(body).encode(), reply=self.inbox)

    async def _wait(self, timeout: float, until) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not until():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except asyncio.TimeoutError:
                return

    async def fetch(self, batch: int, timeout: float) -> list[Msg]:
        """Up to `batch` messages; waits at most about `timeout` when none are available.

        Raises nats' TimeoutError when the open request was lost: re-requesting is not enough,
        since messages it had delivered may be lost with it and a later cumulative ack would
        acknowledge them unapplied; the caller resumes from its recorded position instead. For
        the same reason it raises DeliveryLost once it has handed out everything before a gap.
        """
        if self.lost and not self.buffer:
            raise self._delivery_lost()
        if not self.buffer and self.outstanding and \
                asyncio.get_running_loop().time() > self.request_lost_after:
            self.outstanding = 0
            raise nats.errors.TimeoutError
        if not self.buffer:
            if self.outstanding == 0:
                await self._request(batch, wait=None)
            if not self.lingering:  # a no_wait request ends at once: take all it brings
                await self._wait(timeout + 1.0, lambda: self.outstanding == 0)
            if not self.buffer:  # nothing available: wait for the first new message
                if self.outstanding == 0:
                    await self._request(batch, wait=timeout)
                await self._wait(timeout + 0.5, lambda: bool(self.buffer) or self.outstanding == 0)
        taken, self.buffer = self.buffer[:batch], self.buffer[batch:]
        if self.lost and not taken:
            raise self._delivery_lost()
        if self.outstanding == 0 and taken and not self.lost:
            await self._request(batch, wait=None)  # prefetch the next batch while we apply this one
        return taken

    async def take_buffered(self, batch: int) -> list[Msg]:
        """Up to `batch` messages already received, without waiting for any (and the next
        request sent, as `fetch` does)."""
        taken, self.buffer = self.buffer[:batch], self.buffer[batch:]
        if self.outstanding == 0 and taken and not self.lost:
            await self._request(batch, wait=None)
        return taken

    def missed(self, consumer_delivered: int) -> bool:
        """Whether deliveries went astray at the end, with nothing after them to show the gap:
        no request is open (so nothing is on its way to us) and the consumer says it delivered
        more than we received (`consumer_delivered`: its info's `delivered.consumer_seq`)."""
        return self.outstanding == 0 and not self.buffer and consumer_delivered > self.delivered

    async def check_nothing_astray(self):
        """Ask the consumer (while idle): raise DeliveryLost if it delivered more than we received
        with nothing after to show the gap (`missed`); returns its info."""
        info = await self.nc.jetstream().consumer_info(self.stream, self.durable)
        if self.missed(info.delivered.consumer_seq):
            # delivered to us, never received: resume now, not after the ack wait
            raise DeliveryLost(f"{self.durable}: deliveries up to {info.delivered.consumer_seq} never arrived")
        return info

    def _delivery_lost(self) -> DeliveryLost:
        return DeliveryLost(f"deliveries after consumer sequence {self.delivered} never arrived")

    async def ack(self, msg: Msg) -> None:
        """Acknowledge `msg` (and, under AckPolicy.ALL, everything delivered before it)."""
        await self.nc.publish(msg.reply, b"+ACK")
