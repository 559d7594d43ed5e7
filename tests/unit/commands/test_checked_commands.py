"""The hand-over between the engine's intake and its apply stage: chunks checked as they stream
in, taken whole and in order, never more than a batch checked ahead."""

import asyncio

from bus.engine_intake import CheckedCommands


def chunk(*seqs: int) -> list[int]:
    return list(seqs)  # stands for the chunk's checked messages: only their count and order matter


def test_take_merges_whole_chunks_in_order_up_to_the_limit():
    async def scenario():
        checked, cache = CheckedCommands(), object()
        checked.put(chunk(1, 2), {"a"}, cache)
        checked.put(chunk(3), set(), cache)
        checked.put(chunk(4, 5, 6), {"b"}, cache)
        first = await checked.take(limit=4, timeout=0.1)
        second = await checked.take(limit=4, timeout=0.1)
        return first, second, checked.count

    first, second, left = asyncio.run(scenario())
    assert first[0] == [1, 2, 3] and first[1] == {"a"} and first[2] is not None
    assert second[0] == [4, 5, 6] and second[1] == {"b"}
    assert left == 0


def test_a_chunk_looked_up_against_another_cache_makes_the_apply_look_again():
    async def scenario():
        checked = CheckedCommands()
        checked.put(chunk(1), set(), object())
        checked.put(chunk(2), set(), object())  # the exchange was rebuilt in between
        return await checked.take(limit=10, timeout=0.1)

    incomings, _, cache = asyncio.run(scenario())
    assert incomings == [1, 2] and cache is None


def test_take_waits_for_a_chunk_and_gives_up_after_its_timeout():
    async def scenario():
        checked = CheckedCommands()
        empty = await checked.take(limit=10, timeout=0.01)
        later = asyncio.create_task(checked.take(limit=10, timeout=1.0))
        await asyncio.sleep(0.01)
        checked.put(chunk(9), set(), None)
        return empty, await later

    empty, later = asyncio.run(scenario())
    assert empty is None and later[0] == [9]


def test_the_intake_waits_for_room_once_a_batch_is_checked_ahead():
    async def scenario():
        checked = CheckedCommands()
        checked.put(chunk(1, 2, 3), set(), None)
        assert await checked.room(limit=5) == 2
        waiting = asyncio.create_task(checked.room(limit=3))
        await asyncio.sleep(0.01)
        blocked = not waiting.done()
        await checked.take(limit=3, timeout=0.1)
        return blocked, await asyncio.wait_for(waiting, 1.0)

    blocked, room = asyncio.run(scenario())
    assert blocked and room == 3
