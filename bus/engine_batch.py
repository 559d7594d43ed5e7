"""Applying one fetched batch of commands to the in-memory exchange: pure, no I/O.

`BatchApplier.apply` turns checked messages (`engine_intake.Incoming`) into a `CommitJob`: the
events to commit in one transaction (domain events and one receipt per authenticated command),
the commands stream position to record with them, and what to answer once they are committed.

Per message, in stream order:
- seq <= last applied: a redelivery of a command already applied -> answer with its receipt;
- not authenticated (no or bad signature, wrong key, bad bytes) -> answer the rejection, store
  nothing (so a forger cannot burn someone's command id);
- its command id already has a receipt (cache or store) -> answer the ORIGINAL outcome;
- its account is over its command rate (`bus.engine_throttle`) -> refused `RateLimited`;
- otherwise: the time sweep (`exchange.expire`) runs at the command's time, the handler runs,
  the changed aggregates' events are collected and a receipt refers to them.

A handler raising anything but a rejection is a bug in the domain: `PoisonCommand` tells the
engine to rebuild the exchange from the store and re-apply the batch with that command refused
(`InternalError`), so one bad command never stops the exchange nor corrupts its state.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any

from bus.engine_intake import Incoming
from bus.engine_throttle import CommandThrottle, RecordedRefusals
from commands import handlers
from commands.messages import command_kind
from commands.receipts import CommandReceipt, Reply, new_receipt
from commands.rejections import CommandRefused, Rejection

log = logging.getLogger("bus.engine")


class PoisonCommand(Exception):
    """The domain raised an unexpected error while applying the command at `seq`."""

    def __init__(self, seq: int) -> None:
        super().__init__(f"command at stream sequence {seq} crashed the domain")
        self.seq = seq


@dataclass(slots=True)
class Recorded:
    """A command whose receipt (and events) are in the job: events[start:end], receipt last."""

    incoming: Incoming
    receipt: CommandReceipt.Recorded
    start: int
    end: int


@dataclass(slots=True)
class CommitJob:
    """Everything one batch commits, then answers and acks."""

    events: list = field(default_factory=list)
    last_seq: int = 0  # highest stream sequence in the batch (recorded with the events)
    needs_commit: bool = False
    recorded: list[Recorded] = field(default_factory=list)
    answers: list[tuple[Incoming, Reply]] = field(default_factory=list)  # known without the store
    lookups: list[tuple[Incoming, uuid.UUID, bool]] = field(default_factory=list)  # (.., id, dup)
    messages: list = field(default_factory=list)  # every nats message of the batch, to ack
    snapshots: list = field(default_factory=list)  # encoded snapshots, stored after the commit


class ReceiptCache:
    """Recent receipts by id: `None` while their batch is committing, then the `Reply`."""

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[uuid.UUID, Reply | None] = OrderedDict()

    def __contains__(self, key: uuid.UUID) -> bool:
        return key in self._entries

    def get(self, key: uuid.UUID) -> Reply | None:
        return self._entries.get(key)

    def put(self, key: uuid.UUID, reply: Reply | None) -> None:
        self._entries[key] = reply
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)


def reply_for_rejection(incoming: Incoming) -> Reply:
    """The answer to a message refused at intake (nothing stored)."""
    envelope = incoming.envelope
    return Reply(
        command_id=envelope.command_id if envelope else None,
        owner=envelope.owner if envelope else None,
        seq=incoming.seq, at=incoming.at, accepted=False, reason=incoming.reason,
        message=incoming.detail[:500], kind=command_kind(envelope.command) if envelope else "",
    )


class BatchApplier:
    """Applies batches in stream order to one exchange; remembers the last applied sequence."""

    def __init__(self, exchange: Any, applied_seq: int, cache: ReceiptCache,
                 snapshot_every: int = 0, encode_snapshot: Any = None,
                 encode_event: Any = None, throttle: CommandThrottle | RecordedRefusals | None = None) -> None:
        self.exchange = exchange
        self.throttle = throttle or CommandThrottle(rate=0, burst=0)
        # Events are encoded the moment their command is done (by the store's mapper), so what
        # is committed is exactly what was applied, whatever later commands do to shared
        # objects, and the commit thread only ever touches bytes. None keeps the objects.
        self.encode_event = encode_event or (lambda event: event)
        self.applied_seq = applied_seq
        self.cache = cache
        # Snapshot an aggregate when its version passes a multiple of `snapshot_every`; the
        # snapshot is taken (encoded) at the end of the batch, so it holds exactly the state
        # that the batch's commit makes durable, and is stored only after that commit.
        self.snapshot_every = snapshot_every
        self.encode_snapshot = encode_snapshot
        self._snapshot_due: dict[Any, Any] = {}
        self.poison: set[int] = set()
        self.rejections: Counter[str] = Counter()
        self.accepted = 0

    def unknown_receipt_ids(self, incomings: list[Incoming]) -> list[uuid.UUID]:
        """Receipt ids of the new authenticated commands that the cache does not know."""
        ids = []
        for incoming in incomings:
            if incoming.seq > self.applied_seq and incoming.authenticated:
                if incoming.receipt_id not in self.cache:
                    ids.append(incoming.receipt_id)
        return ids

    def apply(self, incomings: list[Incoming], stored: set[uuid.UUID]) -> CommitJob:
        """Apply a batch; `stored` = the receipt ids among it already in the store."""
        job = CommitJob()
        for incoming in incomings:
            job.messages.append(incoming.message)
            job.last_seq = max(job.last_seq, incoming.seq)
            if incoming.seq <= self.applied_seq:
                self._answer_redelivery(job, incoming)
                continue
            self.applied_seq = incoming.seq
            job.needs_commit = True
            self._sweep(job, incoming)
            if not incoming.authenticated:
                self._count(incoming.reason, incoming)
                job.answers.append((incoming, reply_for_rejection(incoming)))
                continue
            key = incoming.receipt_id
            if key in self.cache or key in stored:
                job.lookups.append((incoming, key, True))
                continue
            self._run(job, incoming, key)
        self._take_snapshots(job)
        return job

    def _take_snapshots(self, job: CommitJob) -> None:
        for aggregate in self._snapshot_due.values():
            try:
                job.snapshots.append(self.encode_snapshot(aggregate))
            except Exception:  # noqa: BLE001 - a snapshot is an optimisation, never a stop
                log.exception("cannot snapshot %s", type(aggregate).__name__)
        self._snapshot_due.clear()

    def _answer_redelivery(self, job: CommitJob, incoming: Incoming) -> None:
        if incoming.authenticated:
            job.lookups.append((incoming, incoming.receipt_id, False))
        else:
            job.answers.append((incoming, reply_for_rejection(incoming)))

    def _sweep(self, job: CommitJob, incoming: Incoming) -> None:
        """Let time pass up to this command's time (GTT expiry, dead-man switches)."""
        expire = getattr(self.exchange, "expire", None)
        if expire is None:
            return
        try:
            expire(incoming.at, incoming.seq)
        except Exception as error:
            log.exception("time sweep failed at seq %s", incoming.seq)
            raise PoisonCommand(incoming.seq) from error
        job.events.extend(map(self.encode_event, self._collect()))

    def _run(self, job: CommitJob, incoming: Incoming, key: uuid.UUID) -> None:
        envelope = incoming.envelope
        reason, message = incoming.reason, incoming.detail
        if not reason and incoming.seq in self.poison:
            reason, message = str(Rejection.INTERNAL_ERROR), "the domain failed on this command"
        if not reason:
            admitted, why_not = self.throttle.admit(envelope, incoming.at)
            if not admitted:
                reason, message = str(Rejection.RATE_LIMITED), why_not
        if not reason:
            reason, message = self._handle(incoming)
        events = self._collect()
        if reason:
            self._count(reason, incoming)
        else:
            self.accepted += 1
        receipt = new_receipt(
            known_id=key, command_id=envelope.command_id, owner=envelope.owner,
            sub_account=envelope.sub_account, kind=command_kind(envelope.command),
            seq=incoming.seq, at=incoming.at, accepted=not reason, reason=reason,
            message=message, events=[[event.originator_id.hex, event.originator_version]
                                     for event in events],
        )
        start = len(job.events)
        job.events.extend(map(self.encode_event, events))
        job.events.append(self.encode_event(receipt))
        job.recorded.append(Recorded(incoming, receipt, start, len(job.events)))
        self.cache.put(key, None)

    def _handle(self, incoming: Incoming) -> tuple[str, str]:
        """Run the handler; ('', '') when accepted, else (reason code, detail)."""
        from domain.rejections import Rejected  # the domain is imported by the engine only

        try:
            handlers.handle(incoming.envelope, exchange=self.exchange, at=incoming.at,
                            seq=incoming.seq)
        except Rejected as rejected:
            return str(rejected.reason.value), rejected.detail
        except CommandRefused as refused:
            return refused.reason, refused.message
        except Exception as error:
            log.exception("domain failed on command at seq %s", incoming.seq)
            raise PoisonCommand(incoming.seq) from error
        return "", ""

    def _collect(self) -> list:
        events: list = []
        every = self.snapshot_every
        for aggregate in self.exchange.collect_changed():
            collected = aggregate.collect_events()
            events.extend(collected)
            if every and collected and (
                collected[-1].originator_version // every
                > (collected[0].originator_version - 1) // every
            ):
                self._snapshot_due[aggregate.id] = aggregate
        return events

    def _count(self, reason: str, incoming: Incoming) -> None:
        self.rejections[reason] += 1
        log.info("rejected seq=%s reason=%s %s", incoming.seq, reason, incoming.detail[:200])
