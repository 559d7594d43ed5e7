"""A projector's feed: its durable JetStream pull consumer on the events stream, and the loop.

The consumer is declared by the projector's bootstrap at start-up (never by the stream's own
declaration): durable `proj_<name>`, filtered to the subjects of the event types the model
handles, starting just after the stream sequence recorded with the projection's position. So a
restart (even after SIGKILL mid-batch) resumes exactly where the last committed batch ended,
without waiting for redeliveries; anything re-sent is skipped by the position check anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from bus import subjects
from bus.streams import EVENTS_STREAM
from projections.event import PoisonEvent, ProjectedEvent
from projections.model import ReadModel, apply_batch, mark_consistent, read_position
from projections.partition import market_filter_subjects
from bus.puller import Puller
from projections.wire_source import from_message

log = logging.getLogger(__name__)
TRANSIENT_ATTEMPTS = 5
SCOPES = {"Market": "market", "Account": "account", "CommandReceipt": "receipt"}


def filter_subjects(model: ReadModel) -> list[str]:
    """`qd.evt.<scope>.*.<EventType>` for every (aggregate, event) type the model handles."""
    result = []
    for handled in model.handled_types():
        aggregate, _, event_type = handled.rpartition("_")
        scope = subjects.scope_of(aggregate) if aggregate else "*"
        result.append(f"{subjects.EVENTS_PREFIX}.{scope}.*.{event_type}")
    return market_filter_subjects(model, sorted(set(result)))


async def declare_consumer(js: JetStreamContext, model: ReadModel, durable: str,
                           after_stream_seq: int) -> None:
    """(Re)create the durable consumer so it delivers from `after_stream_seq + 1`."""
    try:
        await js.delete_consumer(EVENTS_STREAM, durable)
    except NotFoundError:
        pass
    start = ({"deliver_policy": DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": after_stream_seq + 1}
             if after_stream_seq else {"deliver_policy": DeliverPolicy.ALL})
    await js.add_consumer(EVENTS_STREAM, ConsumerConfig(
        durable_name=durable, name=durable, ack_policy=AckPolicy.ALL, ack_wait=30.0,
        max_deliver=-1, max_ack_pending=100_000, filter_subjects=filter_subjects(model),
        description=f"projector {model.position_key}", **start))


async def resume_feed(js: JetStreamContext, conn: psycopg.Connection, model: ReadModel, schema: str,
                      durable: str, **feed_options) -> "Feed":
    """A started feed into `schema` from its recorded position, on a freshly declared consumer."""
    position, stream_seq = read_position(conn, model, schema)
    await declare_consumer(js, model, durable, stream_seq)
    feed = Feed(js, conn, model, schema, durable, **feed_options)
    feed.position = position
    await feed.start()
    return feed


class Feed:
    """Pulls batches from a declared consumer and applies them to one schema."""

    def __init__(self, js: JetStreamContext, conn: psycopg.Connection, model: ReadModel,
                 schema: str, durable: str, *, batch_size: int = 2000, use_copy: bool = True,
                 on_batch: Callable[[int, int], None] | None = None,
                 on_metrics: Callable[[int, int, object], None] | None = None) -> None:
        self.js, self.conn, self.model, self.schema = js, conn, model, schema
        self.durable, self.batch_size, self.use_copy = durable, batch_size, use_copy
        self.on_batch = on_batch
        self.on_metrics = on_metrics  # (count, position, last message): for observability
        self.subscription = None
        self.position = 0
        self.pending: list = []  # fetched but held back by `up_to`

    async def start(self) -> None:
        self.subscription = Puller(self.js._nc, EVENTS_STREAM, self.durable)
        await self.subscription.start()

    async def stop(self) -> None:
        await self.subscription.stop()

    async def step(self, timeout: float = 0.5, *, up_to: int | None = None) -> int:
        """Fetch and apply one batch; returns how many events it applied (0 when idle).

        With `up_to`, events beyond that position are held back (kept for the next step)."""
        if not self.pending:
            messages = await self.subscription.fetch(self.batch_size, timeout=timeout)
            if not messages:
                if up_to is None:
                    await self.mark_idle()
                return 0
            self.pending = [(m, from_message(m.subject, m.data)) for m in messages]
        cut = len(self.pending)
        if up_to is not None:
            cut = next((i for i, (_, e) in enumerate(self.pending) if e.position > up_to), cut)
        taken, self.pending = self.pending[:cut], self.pending[cut:]
        if not taken:
            return 0
        last = taken[-1][0]
        applying = asyncio.ensure_future(asyncio.to_thread(
            self._apply, [event for _, event in taken], last.metadata.sequence.stream))
        try:  # pipelining: decode the next batch while this one's transaction runs in PostgreSQL
            if not self.pending:
                self.pending = [(m, from_message(m.subject, m.data))
                                for m in await self.subscription.take_buffered(self.batch_size)]
        finally:  # never leave the transaction running behind a failure (it owns the connection)
            self.position = await applying
        await self.subscription.ack(last)  # AckPolicy.ALL: acknowledges everything up to it
        if self.on_batch:
            self.on_batch(len(taken), self.position)
        if self.on_metrics:
            self.on_metrics(len(taken), self.position, last)
        return len(taken)

    async def mark_idle(self) -> None:
        """When nothing is pending for us, we are consistent through the stream's last event:
        read the stream's last position first, then check that our consumer has nothing
        undelivered or unacknowledged (so nothing at or below it is missing)."""
        stream = await self.js.stream_info(EVENTS_STREAM)
        if not stream.state.last_seq:
            return
        last = await self.js.get_msg(EVENTS_STREAM, stream.state.last_seq)
        position = int((last.headers or {}).get(subjects.HEADER_POSITION)
                       or from_message(last.subject, last.data).position)
        info = await self.subscription.check_nothing_astray()
        if info.num_pending == 0 and info.num_ack_pending == 0 and not self.pending:
            await asyncio.to_thread(mark_consistent, self.conn, self.model, self.schema, position)

    def _apply(self, events: list[ProjectedEvent], stream_seq: int) -> int:
        for attempt in range(TRANSIENT_ATTEMPTS):
            try:
                return apply_batch(self.conn, self.model, self.schema, events,
                                   use_copy=self.use_copy, stream_seq=stream_seq)
            except PoisonEvent:
                raise
            except Exception as error:
                if is_transient(error) and attempt + 1 < TRANSIENT_ATTEMPTS:
                    # Partitions of one model racing on shared DDL (a new daily partition):
                    # nothing was committed; forget DDL believed done and apply the batch again.
                    log.warning("batch of %d hit %r; applying it again", len(events), error)
                    forget = getattr(self.model, "forget_created_partitions", None)
                    if forget:
                        forget()
                    continue
                return self._isolate(events, stream_seq, error)
        raise AssertionError("unreachable")

    def _isolate(self, events: list[ProjectedEvent], stream_seq: int, error: Exception) -> int:
        """A batch failed for good: the single event is poison, else find which one is."""
        if len(events) == 1:
            raise PoisonEvent(self.model.name, events[0], error) from error
        # A set-based statement failed: find the event that causes it, one at a time.
        forget = getattr(self.model, "forget_created_partitions", None)
        if forget:  # the rolled-back batch may have created daily partitions
            forget()
        log.warning("batch of %d failed (%s); isolating the poison event", len(events), error)
        position = 0
        for event in events:
            position = self._apply([event], stream_seq if event is events[-1] else 0)
        return position


def is_transient(error: BaseException) -> bool:
    """A failure another transaction caused (a deadlock, a catalog race on CREATE ... IF NOT EXISTS)."""
    if isinstance(error, (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure,
                          psycopg.errors.DuplicateTable)):
        return True
    constraint = getattr(getattr(error, "diag", None), "constraint_name", None) or ""
    return isinstance(error, psycopg.errors.UniqueViolation) and constraint.startswith("pg_")
