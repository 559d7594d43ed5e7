"""Replay from the store with the chain verified in a second process, in parallel.

Verification (read every row with its chain entry, hash it) and rebuilding (decode and apply
every domain event) are independent until their results are combined, so they run side by side:
this process rebuilds, a child process verifies. Both read ONE PostgreSQL snapshot (exported by
the rebuilding transaction, imported by the verifier before the rebuild starts reading), so they
judge exactly the same rows.

The outcome is the one the sequential `Replay` gives: a chain break names the first bad event
and voids every checkpoint at or after it; checkpoints carry the verified chain head.
Used for whole-log (or `up_to`) replays; time- or command-bounded replays stay sequential.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from audit.chain import ChainBreak, ChainVerifier
from audit.log_source import StoreLog
from audit.replay import Progress, Replay, ReplayResult

_START_TIMEOUT = 120.0


def verify_snapshot(log: StoreLog, snapshot: str, up_to: int | None, positions: list[int],
                    ready: Any, results: Any) -> None:
    """Child process: verify the chain over the snapshot; report heads at `positions`."""
    verifier = ChainVerifier()
    heads: dict[int, str] = {}
    pending = sorted(positions)
    found: ChainBreak | None = None
    try:
        for row in log.rows(up_to, snapshot=snapshot, on_snapshot=lambda _: ready.set()):
            while pending and row.position > pending[0]:
                heads[pending.pop(0)] = verifier.head.hex()
            found = verifier.check(row)
            if found is not None:
                break
        if found is None:
            heads.update({position: verifier.head.hex() for position in pending})
        results.put((verifier.head.hex(), verifier.head_position, found, heads, None))
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which raises it
        ready.set()
        results.put((None, 0, None, {}, f"{type(error).__name__}: {error}"))


def replay_store(log: StoreLog, *, checkpoints: Iterable[int] = (), up_to: int | None = None,
                 progress: Progress | None = None, replay: Replay | None = None) -> ReplayResult:
    """Rebuild from genesis while a child process verifies the chain over the same snapshot."""
    wanted = sorted(set(checkpoints))
    rebuild = replay or Replay(verify_chain=False)
    context = multiprocessing.get_context("spawn")
    results, ready = context.Queue(), context.Event()
    children: list = []

    def start_verifier(snapshot: str) -> None:
        child = context.Process(target=verify_snapshot, name="audit-chain-verifier",
                                args=(log, snapshot, up_to, wanted, ready, results), daemon=True)
        child.start()
        children.append(child)
        # Our transaction (and so the exported snapshot) must outlive the child's import.
        if not ready.wait(_START_TIMEOUT):
            child.kill()
            raise RuntimeError("chain verifier did not start")

    try:
        rows = log.rows(up_to, with_chain=False, on_snapshot=start_verifier)
        result = rebuild.run(rows, checkpoints=wanted, up_to=up_to, progress=progress)
        head, head_position, found, heads, error = results.get()
    finally:
        for child in children:
            child.join(5)
            if child.is_alive():
                child.kill()
    if error is not None:
        raise RuntimeError(f"chain verifier failed: {error}")
    return _combine(result, head, head_position, found, heads)


def _combine(result: ReplayResult, head: str, head_position: int, found: ChainBreak | None,
             heads: dict[int, str]) -> ReplayResult:
    """The rebuild's result, judged by the verifier's findings."""
    if found is not None:
        result.chain_break = found
        result.checkpoints = [c for c in result.checkpoints if c.position < found.position]
        if result.failure is not None and found.position <= result.failure.position:
            result.failure = None  # the broken chain explains it: report the first cause only

    def head_at(position: int) -> str:
        if position in heads:
            return heads[position]
        return head if position >= head_position else ""

    result.chain_head = head
    result.checkpoints = [replace(c, chain_head=head_at(c.position)) for c in result.checkpoints]
    return result
