"""Settlement batches as the log implies them, recomputed from the stored events alone.

One pass over the log from genesis (`StoreLog.rows`, one snapshot): the audit's own
`ChainVerifier` recomputes every head hash from the events' bytes (the trigger-filled chain table
is only the thing being checked), and the account events of each batch's range are folded
through `onchain.settler.netting.Netting` — the very rules the settler applies, documented there
and in docs/architecture/onchain.md, so an auditor can also recompute them by hand. The
`Settlement` aggregate's `BatchProposed` / `BatchSettled` events say which range each batch
covers and what the exchange recorded about it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from audit.chain import ChainBreak, ChainVerifier, LogRow
from bus.relay_source import split_topic
from onchain.settler.netting import AccountKey, Netting

_LIFTED = frozenset({"timestamp", "originator_topic", "originator_id", "originator_version", "at", "seq"})
_OWNER_ATTRIBUTES = ("owner", "owner_pubkey", "account_owner")  # bus.subjects.KEY_ATTRIBUTES


@dataclass
class LogBatch:
    """What the log says about one batch sequence (its last proposal and its settlement)."""

    sequence: int
    first_position: int | None = None
    last_position: int | None = None
    log_hash: str | None = None
    previous_hash: str | None = None
    withdrawal_ids: tuple = ()
    settled_hash: str | None = None
    chain_tx: str | None = None


@dataclass
class ImpliedBatch:
    """What the events of one range imply: the head hash at its end, the deltas and payouts."""

    last_position: int
    head: bytes | None  # None when the log does not verify up to last_position
    deltas: dict[tuple[str, int, str], int]
    withdrawals: list[tuple[str, int, str, int, str]]  # owner, sub, asset, amount, destination owner
    netting_error: str | None = None


@dataclass
class LogReading:
    batches: dict[int, LogBatch] = field(default_factory=dict)
    chain_break: ChainBreak | None = None
    verified_through: int = 0


def decode_state(state: bytes) -> dict:
    """A stored event's attributes (plain JSON; the engine writes nothing else)."""
    return msgspec.json.decode(state)


def settlement_records(rows: Iterable[LogRow]) -> dict[int, LogBatch]:
    """BatchProposed / BatchSettled of the Settlement aggregate, by sequence (last proposal wins:
    re-proposing an unsettled sequence replaces it)."""
    batches: dict[int, LogBatch] = {}
    for row in rows:
        if row.topic is None or row.state is None:
            continue
        aggregate, event = split_topic(row.topic)
        if aggregate != "Settlement" or event not in ("BatchProposed", "BatchSettled"):
            continue
        try:
            state = decode_state(row.state)
            batch = batches.setdefault(int(state["sequence"]), LogBatch(int(state["sequence"])))
        except (msgspec.DecodeError, KeyError, ValueError, TypeError):
            continue  # a tampered record: the chain verification names it
        if event == "BatchProposed":
            batch.first_position, batch.last_position = state.get("first_position"), state.get("last_position")
            batch.log_hash, batch.previous_hash = state.get("log_hash"), state.get("previous_hash")
            batch.withdrawal_ids = tuple(state.get("withdrawal_ids") or ())
        else:
            batch.settled_hash, batch.chain_tx = state.get("log_hash"), state.get("chain_tx")
    return batches


def implied_batches(rows: Iterable[LogRow], boundaries: list[int], fee_account: AccountKey,
                    pool_account: AccountKey) -> tuple[list[ImpliedBatch], ChainBreak | None, int]:
    """Walk the log once: verify the chain, net each range (previous boundary, boundary].

    Returns one ImpliedBatch per boundary (in order), the first chain break, and the last
    verified position."""
    verifier = ChainVerifier()
    chain_break: ChainBreak | None = None
    owners: dict = {}  # aggregate id -> owner (from the aggregate's first event carrying one)
    results: list[ImpliedBatch] = []
    pending = list(boundaries)
    netting, error = Netting(fee_account, pool_account), None
    for row in rows:
        if not pending:
            break
        if chain_break is None:
            chain_break = verifier.check(row)
        if row.state is not None and row.topic is not None and error is None:
            error = _fold(netting, owners, row)
        while pending and row.position >= pending[0]:
            head = verifier.head if chain_break is None and verifier.head_position == pending[0] else None
            results.append(_implied(netting, pending.pop(0), head, error))
            netting, error = Netting(fee_account, pool_account), None
    for boundary in pending:  # beyond the end of the log
        results.append(ImpliedBatch(boundary, None, {}, [], "the log ends before this position"))
    return results, chain_break, verifier.head_position


def _fold(netting: Netting, owners: dict, row: LogRow) -> str | None:
    aggregate, event = split_topic(row.topic)
    if aggregate != "Account":
        return None
    try:
        state = decode_state(row.state)
        owner = next((state[name] for name in _OWNER_ATTRIBUTES if state.get(name)), None)
        if owner is not None:
            owners.setdefault(row.originator_id, str(owner))
        owner = owners.get(row.originator_id, owner)
        payload = {name: value for name, value in state.items() if name not in _LIFTED}
        netting.apply(str(owner), event, payload, row.position)
    except Exception as failure:  # noqa: BLE001 (a tampered event: named, not a crash)
        return f"cannot net {row.names()}: {failure!r}"
    return None


def _implied(netting: Netting, position: int, head: bytes | None, error: str | None) -> ImpliedBatch:
    deltas = {(account.owner, account.sub_account, asset): amount for account, asset, amount in netting.entries()}
    withdrawals = [(p.account.owner, p.account.sub_account, p.asset, p.amount, p.destination)
                   for p in netting.payouts]
    return ImpliedBatch(position, head, deltas, withdrawals, error)
