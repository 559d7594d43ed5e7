"""A service part that fails is replaced by a new one; a fatal failure stops the service."""

import asyncio
import logging

import pytest

from observability.lifecycle import run_restarting

log = logging.getLogger("test")


class Part:
    """Fails in `run` while `failures` lasts, else stops the service; records its life."""

    def __init__(self, journal: list, failures: list) -> None:
        self.journal, self.failures = journal, failures

    async def start(self) -> None:
        self.journal.append("start")

    async def run(self, stop: asyncio.Event) -> None:
        if self.failures:
            raise self.failures.pop(0)
        stop.set()

    async def close(self) -> None:
        self.journal.append("close")


def test_a_failed_part_is_closed_and_a_new_one_runs_until_stopped():
    journal, seen = [], []

    async def scenario():
        failures = [ConnectionError("gone")]
        await run_restarting(lambda: Part(journal, failures), asyncio.Event(), log, "part",
                             on_failure=seen.append)

    asyncio.run(scenario())
    assert journal == ["start", "close", "start", "close"]
    assert [type(error) for error in seen] == [ConnectionError]


def test_a_fatal_failure_propagates_after_closing_the_part():
    journal = []

    async def scenario():
        await run_restarting(lambda: Part(journal, [LookupError("cannot go on")]), asyncio.Event(), log,
                             "part", fatal=(LookupError,))

    with pytest.raises(LookupError):
        asyncio.run(scenario())
    assert journal == ["start", "close"]
