"""Shared steps of the read side's tests: run projectors in-process and wait for positions."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager

import psycopg

from projections.projector import run_projector
from projections.registry import REGISTRY


def last_handled(name: str, events) -> int:
    """The position projector `name` reaches once it has applied `events`."""
    model = REGISTRY[name]()
    return max((e.position for e in events if model.handler(e)), default=0)


async def wait_for_position(dsn: str, name: str, position: int, timeout: float = 30.0) -> None:
    """Poll `read.position_<name>` until it reaches `position`."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            try:
                row = conn.execute(f"SELECT position FROM read.position_{name}").fetchone()
            except psycopg.errors.UndefinedTable:
                row = None
            if row and row[0] >= position:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"projector {name} at {row} < {position} after {timeout}s")
            await asyncio.sleep(0.05)


@asynccontextmanager
async def running_projectors(names, nats_url: str, dsn: str, **options):
    """Run projectors as asyncio tasks for the duration of the block; re-raise their errors."""
    stop = asyncio.Event()
    tasks = {name: asyncio.create_task(run_projector(name, nats_url, dsn, stop=stop, **options))
             for name in names}
    try:
        yield tasks
    finally:
        stop.set()
        await asyncio.gather(*tasks.values())
