"""Rebuild the domain from genesis by applying stored events in log order, verifying the chain.

Each stored event is turned back into its domain event with eventsourcing's mapper (which also
runs the upcasters of versioned event classes) and applied with `event.mutate(aggregate)`; the
state hash at a position is `Exchange.from_aggregates(...).state_hash()` over the aggregates as
they stand after every event at or before that position.

What a replay reports first (and then stops): a chain break (tampered, deleted or reordered
event), or an event that cannot be applied (wrong version, unknown topic, a domain error), each
naming the event's position, topic, aggregate and version.
Events whose topic is not part of the domain (command receipts) are chained and verified but not
applied: the domain's state hash does not cover them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Mapper

from audit.chain import ChainBreak, ChainVerifier, LogRow
from audit.transcoding import ReadFastJSONTranscoder

StateHasher = Callable[[list[Any]], str]
Progress = Callable[[int], None]  # called with the last position reached
Observer = Callable[[LogRow, Any], None]  # called with each applied row and its domain event
BeforeApply = Callable[[LogRow, dict[Any, Any]], None]  # called with a row and the aggregates


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The state hash and chain head after every event at or before `position`."""

    position: int
    state_hash: str
    chain_head: str  # hex; "" when the chain was not verified
    events: int  # events read so far


@dataclass(frozen=True, slots=True)
class ReplayFailure:
    """An event that could not be applied."""

    position: int
    event: str
    reason: str

    def __str__(self) -> str:
        return f"cannot apply {self.event}: {self.reason}"


@dataclass
class ReplayResult:
    """What a replay reached and found."""

    last_position: int = 0
    events: int = 0
    applied: int = 0
    chain_head: str = ""
    checkpoints: list[Checkpoint] = field(default_factory=list)
    chain_break: ChainBreak | None = None
    failure: ReplayFailure | None = None
    aggregates: dict[Any, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the chain verified and every event applied."""
        return self.chain_break is None and self.failure is None


def default_mapper(fast: bool = True) -> Mapper:
    """The mapper of a default eventsourcing Application (JSON, no cipher, no compression),
    with the read-side fast transcoder unless `fast` is False (identical results)."""
    transcoder = ReadFastJSONTranscoder() if fast else JSONTranscoder()
    Application.register_transcodings(Application, transcoder)  # type: ignore[arg-type]
    return Mapper(transcoder=transcoder)


def is_domain_topic(topic: str) -> bool:
    """Topics of the exchange's domain aggregates (not command receipts)."""
    return topic.startswith("domain.")


def exchange_state_hash(aggregates: list[Any]) -> str:
    """The live engine's state hash over these aggregates (domain.exchange.Exchange)."""
    from domain.exchange import Exchange

    return Exchange.from_aggregates(aggregates).state_hash()


class Replay:
    """Applies log rows to an in-memory set of aggregates; stops at the first problem."""

    def __init__(
        self,
        mapper: Mapper | None = None,
        *,
        include: Callable[[str], bool] = is_domain_topic,
        state_hasher: StateHasher = exchange_state_hash,
        verify_chain: bool = True,
    ) -> None:
        self.mapper = mapper or default_mapper()
        self.include = include
        self.state_hasher = state_hasher
        self.verify_chain = verify_chain
        self.verifier: ChainVerifier | None = None  # the last run's, for its head
        self._included: dict[str, bool] = {}

    def run(
        self,
        rows: Iterable[LogRow],
        *,
        checkpoints: Iterable[int] = (),
        up_to: int | None = None,
        until_time_ns: int | None = None,
        until_command_seq: int | None = None,
        progress: Progress | None = None,
        progress_every: int = 10_000,
        observer: Observer | None = None,
        before_apply: BeforeApply | None = None,
    ) -> ReplayResult:
        """Replay `rows` (from genesis); hash the state at each checkpoint position and at the
        end. `up_to` stops after that position; `until_time_ns` (`until_command_seq`) stops
        before the first domain event whose command time `at` (command `seq`) is later."""
        result = ReplayResult()
        pending = sorted(set(checkpoints))
        aggregates = result.aggregates
        stopped = False
        limits = [(name, bound) for name, bound in (("at", until_time_ns), ("seq", until_command_seq))
                  if bound is not None]
        self.verifier = ChainVerifier() if self.verify_chain else None  # each run from genesis
        check = self.verifier.check if self.verifier is not None else None
        is_included, apply = self._is_included, self._apply
        for row in rows:
            position = row.position
            if up_to is not None and position > up_to:
                stopped = True
                break
            included = row.topic is not None and is_included(row.topic)
            if included and limits and _beyond(row, limits):
                stopped = True
                break
            while pending and position > pending[0]:
                self._checkpoint(result, pending.pop(0))
            if check is not None:
                result.chain_break = check(row)
                if result.chain_break is not None:
                    break
            if included:
                if before_apply is not None:
                    before_apply(row, aggregates)
                result.failure = apply(row, aggregates, observer)
                if result.failure is not None:
                    break
                result.applied += 1
            result.events += 1
            result.last_position = position
            if progress is not None and result.events % progress_every == 0:
                progress(position)
        if result.ok:
            for position in pending if not stopped else [p for p in pending if p <= result.last_position]:
                self._checkpoint(result, position)
            if not result.checkpoints or result.checkpoints[-1].position < result.last_position:
                self._checkpoint(result, result.last_position)
        if self.verifier is not None:
            result.chain_head = self.verifier.head.hex()
        if progress is not None:
            progress(result.last_position)
        return result

    def _apply(self, row: LogRow, aggregates: dict[Any, Any],
               observer: Observer | None) -> ReplayFailure | None:
        try:
            # A LogRow has StoredEvent's four attributes: no copy needed for the mapper.
            domain_event = self.mapper.to_domain_event(row)  # type: ignore[arg-type]
            aggregate = aggregates.get(row.originator_id)
            aggregates[row.originator_id] = domain_event.mutate(aggregate)
            if observer is not None:
                observer(row, domain_event)
        except Exception as error:  # noqa: BLE001 - any failure is named, never swallowed
            return ReplayFailure(row.position, row.names(), f"{type(error).__name__}: {error}")
        return None

    def _checkpoint(self, result: ReplayResult, position: int) -> None:
        if result.checkpoints and result.checkpoints[-1].position == position:
            return
        head = self.verifier.head.hex() if self.verifier is not None else ""
        state_hash = self.state_hasher(list(result.aggregates.values()))
        result.checkpoints.append(Checkpoint(position, state_hash, head, result.events))

    def _is_included(self, topic: str) -> bool:
        included = self._included.get(topic)
        if included is None:
            included = self._included[topic] = self.include(topic)
        return included


def _beyond(row: LogRow, limits: list[tuple[str, int]]) -> bool:
    """True when the event's `at` or `seq` is past its bound."""
    return any(_state_int(row, name) > bound for name, bound in limits)


def _state_int(row: LogRow, name: str) -> int:
    """An int field (`at`, `seq`) of an event's stored state (0 when absent)."""
    value = msgspec.json.decode(row.state).get(name, 0)
    return value if isinstance(value, int) else 0

