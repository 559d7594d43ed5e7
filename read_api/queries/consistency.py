"""Read-your-writes: wait (bounded) until a projector has reached a log position."""

from __future__ import annotations

import asyncio
import time

from read_api.db import ReadStore
from read_api.errors import ClientError
from read_api.models import ProjectorStatus

PROJECTORS = ("markets", "trades", "book", "orders", "fills", "account_state", "transfers",
              "funding_payments", "liquidations", "insurance_fund", "receipts")


async def reached(store: ReadStore, projector: str) -> int:
    """The log position through which `projector`'s read model is complete."""
    row = await store.one(f"SELECT greatest(position, consistent_through) AS at"
                          f" FROM read.position_{projector}")
    return row["at"] if row else 0


async def wait_until(store: ReadStore, projectors: tuple[str, ...], min_seq: int | None,
                     wait_ms: int) -> None:
    """Return once every projector reached `min_seq`, else answer 409 NotCaughtUp."""
    if not min_seq:
        return
    deadline = time.monotonic() + wait_ms / 1000
    while True:
        positions = {name: await reached(store, name) for name in projectors}
        behind = {name: at for name, at in positions.items() if at < min_seq}
        if not behind:
            return
        if time.monotonic() >= deadline:
            raise ClientError(409, "NotCaughtUp",
                              f"the read models have not reached position {min_seq} yet"
                              f" (waited {wait_ms} ms); retry, or read without min_seq",
                              headers={"Retry-After": "1"}, min_seq=min_seq, positions=positions)
        await asyncio.sleep(0.01)


async def status(store: ReadStore) -> list[ProjectorStatus]:
    """Every projector's position (for operators and dashboards)."""
    result = []
    for name in PROJECTORS:
        row = await store.one(f"SELECT position, consistent_through, events_applied"
                              f" FROM read.position_{name}")
        if row:
            result.append(ProjectorStatus(projector=name, **row))
    return result
