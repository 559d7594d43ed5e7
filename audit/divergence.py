"""Finding the first diverging event: re-run the commands, compare what they produce with the log.

A state hash mismatch (replay vs the live engine, or the store vs the stream) says THAT the
state differs, not WHERE. The commands stream (QD_CMD) is the input of everything: re-running
it through a fresh domain, exactly as the engine does (`bus.engine_batch.BatchApplier`, each
command with the stream's timestamp as `at` and its stream sequence as `seq`, the same time
sweep, the same receipts), yields the events the log should hold, in log order. Comparing them
with the stored events one by one (aggregate, version, topic, decoded state) names the first
stored event that is not what its command produced, and which of its fields differ. When every
event matches, the divergence lies in state the events do not capture (a mutator or a read
path of the domain, not the log).

A command that crashes the domain is refused with `InternalError` and the re-run starts again
without its effects, as the engine does when it rebuilds from the store. The per-account rate
refusals (`RateLimited`) are the engine's admission control, not the domain's: their buckets
live in the engine's memory and refill when it restarts, so the re-run takes them as the
receipts recorded them (`recorded_refusals`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from audit.chain import LogRow

RECEIPT_TOPIC = "CommandReceipt.Recorded"  # the engine's receipts (commands.receipts)

_FETCH = 500


@dataclass(frozen=True, slots=True)
class ProducedEvent:
    """One event the re-run produced, encoded as the engine stores it, with its command."""

    originator_id: Any
    originator_version: int
    topic: str
    state: bytes
    command_seq: int


@dataclass(frozen=True, slots=True)
class Divergence:
    """The first stored event that differs from what the commands produce."""

    position: int
    aggregate: str | None
    version: int | None
    topic: str | None
    fields: list[str]
    reason: str
    command_seq: int | None = None
    stored: dict = field(default_factory=dict)  # the differing fields' values, as stored
    produced: dict = field(default_factory=dict)  # ... and as the command produces them

    def __str__(self) -> str:
        where = (f"position {self.position} ({self.topic}, aggregate {self.aggregate}"
                 f" v{self.version})")
        by = f" (produced by command seq {self.command_seq})" if self.command_seq else ""
        return f"first diverging event at {where}{by}: {self.reason}"

    def as_dict(self) -> dict:
        """JSON-able form (values shown as text)."""
        return {"position": self.position, "aggregate": self.aggregate, "version": self.version,
                "topic": self.topic, "fields": self.fields, "reason": self.reason,
                "command_seq": self.command_seq,
                "stored": {k: repr(v) for k, v in self.stored.items()},
                "produced": {k: repr(v) for k, v in self.produced.items()}}


@dataclass(slots=True)
class DivergenceReport:
    """The outcome of a search: the first diverging event, or None when all events match."""

    compared: int
    commands: int
    divergence: Divergence | None
    rerun_state_hash: str = ""

    @property
    def summary(self) -> str:
        """One line for a human."""
        if self.divergence is not None:
            return str(self.divergence)
        return (f"all {self.compared} stored events match the re-run of {self.commands} commands:"
                " the divergence is in state not captured by events")

    def as_dict(self) -> dict:
        """JSON-able form."""
        return {"compared": self.compared, "commands": self.commands,
                "rerun_state_hash": self.rerun_state_hash, "summary": self.summary,
                "divergence": self.divergence.as_dict() if self.divergence else None}


async def read_commands(nats_url: str, until_seq: int | None = None) -> list[Any]:
    """Every message of the commands stream, in stream order, up to `until_seq` (None = the
    last one when called)."""
    import nats
    from nats.js.api import ConsumerConfig, DeliverPolicy

    from bus import streams, subjects

    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        last = (await js.stream_info(streams.COMMANDS_STREAM)).state.last_seq
        if until_seq is not None:
            last = min(last, until_seq)
        messages: list[Any] = []
        if last == 0:
            return messages
        subscription = await js.pull_subscribe(
            subjects.COMMANDS_ALL, stream=streams.COMMANDS_STREAM,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy="none"))
        try:
            while not messages or messages[-1].metadata.sequence.stream < last:
                try:
                    messages.extend(await subscription.fetch(_FETCH, timeout=5))
                except (asyncio.TimeoutError, nats.errors.TimeoutError):
                    continue
        finally:
            await subscription.unsubscribe()
        return [message for message in messages if message.metadata.sequence.stream <= last]
    finally:
        await connection.close()


def recorded_refusals(rows: list[LogRow], mapper: Any) -> Any:
    """The engine's rate refusals as its receipts recorded them (owner, command id -> message)."""
    from bus.engine_throttle import RecordedRefusals
    from commands.rejections import Rejection

    refused: dict[tuple[str, str], str] = {}
    marker = str(Rejection.RATE_LIMITED).encode()
    for row in rows:
        if row.state is not None and marker in row.state and (row.topic or "").endswith(RECEIPT_TOPIC):
            receipt = mapper.transcoder.decode(row.state)
            if receipt.get("reason") == Rejection.RATE_LIMITED:
                refused[(receipt["owner"], receipt["command_id"])] = receipt["message"]
    return RecordedRefusals(refused)


def rerun_commands(messages: list[Any], operators: Any, mapper: Any,
                   throttle: Any = None) -> tuple[list[ProducedEvent], Any]:
    """The events the engine's batch applier produces from `messages` on a fresh exchange, in
    commit order, and the exchange it ends with (`throttle`: the rate decisions to apply)."""
    from bus.engine_batch import BatchApplier, PoisonCommand, ReceiptCache
    from bus.engine_intake import receive
    from domain.exchange import Exchange

    poison: set[int] = set()
    while True:  # restarts without the effects of a command that crashed the domain
        applier = BatchApplier(Exchange(), 0, ReceiptCache(), encode_event=mapper.to_stored_event,
                               throttle=throttle)
        applier.poison = set(poison)
        produced: list[ProducedEvent] = []
        try:
            for message in messages:
                incoming = receive(message, operators)
                job = applier.apply([incoming], set())
                produced.extend(ProducedEvent(e.originator_id, e.originator_version, e.topic,
                                              e.state, incoming.seq) for e in job.events)
        except PoisonCommand as crashed:
            if crashed.seq in poison:
                raise
            poison.add(crashed.seq)
            continue
        return produced, applier.exchange


def first_divergence(stored: Iterable[LogRow], produced: Iterable[ProducedEvent],
                     mapper: Any) -> tuple[Divergence | None, int]:
    """Compare the stored events with the produced ones in log order; the first difference and
    how many events matched before it."""
    decode = mapper.transcoder.decode
    wanted: Iterator[ProducedEvent] = iter(produced)
    compared = 0
    for row in stored:
        expected = next(wanted, None)
        if row.state is None:  # a deleted event: nothing to compare, the chain names it
            return _divergence(row, expected, ["(missing)"], "the event is missing from the "
                               "store"), compared
        if expected is None:
            return _divergence(row, None, [], "no command produces this event (the commands "
                               "stream ends before it)"), compared
        heads = [name for name, mine, theirs in (
            ("originator_id", row.originator_id, expected.originator_id),
            ("originator_version", row.originator_version, expected.originator_version),
            ("topic", row.topic, expected.topic)) if mine != theirs]
        if heads:
            return _divergence(row, expected, heads, "a different event is stored here: the "
                               "command produces " f"{expected.topic} of aggregate "
                               f"{expected.originator_id} v{expected.originator_version}"), compared
        if row.state != expected.state:
            mine, theirs = decode(row.state), decode(expected.state)
            fields = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
            if fields:
                return _divergence(row, expected, fields, "its state differs from what the "
                                   f"command produces in {', '.join(fields)}",
                                   {k: mine.get(k) for k in fields},
                                   {k: theirs.get(k) for k in fields}), compared
        compared += 1
    return None, compared


def find_divergence(rows: Iterable[LogRow], nats_url: str, operators: Any,
                    until_seq: int | None = None, mapper: Any = None) -> DivergenceReport:
    """Re-run the commands stream (up to `until_seq`) and name the first stored event among
    `rows` (log order, from genesis) that differs from what the commands produce."""
    from audit.replay import default_mapper

    mapper = mapper or default_mapper(fast=False)
    messages = asyncio.run(read_commands(nats_url, until_seq))
    rows = list(rows)  # read twice: for the recorded rate refusals, then to compare
    produced, exchange = rerun_commands(messages, operators, mapper, recorded_refusals(rows, mapper))
    divergence, compared = first_divergence(rows, produced, mapper)
    if divergence is None and compared < len(produced):
        # The tail the commands produce beyond the rows given: a cut log, or a store read at a
        # later position than the stream (not a divergence of what is stored).
        extra = produced[compared]
        divergence = Divergence(
            position=0, aggregate=str(extra.originator_id), version=extra.originator_version,
            topic=extra.topic, fields=[], command_seq=extra.command_seq,
            reason=f"the log ends after {compared} events; the commands up to seq "
                   f"{produced[-1].command_seq} produce {len(produced) - compared} more "
                   "(the log was cut, or the engine had not committed them)")
    return DivergenceReport(compared=compared, commands=len(messages), divergence=divergence,
                            rerun_state_hash=exchange.state_hash())


def store_bounds(dsn: str, events_table: str = "exchange_events",
                 tracking_table: str = "exchange_tracking") -> tuple[int, int]:
    """(last log position, commands stream sequence the engine committed with it), read in one
    snapshot, so the log up to that position is exactly the effect of the commands up to it."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            position = conn.execute(sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}")
                                    .format(sql.Identifier(events_table))).fetchone()[0]
            seq = conn.execute(sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {} "
                                       "WHERE application_name = 'engine'")
                               .format(sql.Identifier(tracking_table))).fetchone()[0]
    return position, seq


def _divergence(row: LogRow, expected: ProducedEvent | None, fields: list[str], reason: str,
                stored: dict | None = None, produced: dict | None = None) -> Divergence:
    return Divergence(
        position=row.position, aggregate=str(row.originator_id) if row.originator_id else None,
        version=row.originator_version, topic=row.topic, fields=fields, reason=reason,
        command_seq=expected.command_seq if expected else None,
        stored=stored or {}, produced=produced or {})
