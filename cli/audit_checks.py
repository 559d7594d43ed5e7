"""What `qd audit replay` compares its result with: a chain head published elsewhere, the live
engine's state hash, the store (when replaying the stream), and the commands stream re-run.

Each check returns a sentence naming the difference, or None; the command reports the first.
Connections are opened here, per call, never at import time.
"""

from __future__ import annotations

import asyncio

from cli.audit_arguments import require_store


def anchor_mismatch(result, anchor: tuple[int, str] | None) -> str | None:
    """A published head the log does not reproduce (a rewritten or truncated log)."""
    if anchor is None or not result.ok:
        return None
    position, expected = anchor
    if result.last_position < position:
        return (f"the log ends at position {result.last_position}, before position {position} "
                "whose head was published: events were removed from the end")
    found = next((c.chain_head for c in result.checkpoints if c.position == position), "")
    if found != expected:
        return (f"chain head at position {position} is {found}, the published head is "
                f"{expected}: the log up to there is not the one committed to")
    return None


def engine_state(nats_url: str) -> dict:
    """The live engine's answer to its state RPC (state hash and position)."""
    import msgspec
    import nats

    from bus.engine import RPC_STATE

    async def ask() -> dict:
        connection = await nats.connect(nats_url)
        try:
            reply = await connection.request(RPC_STATE, b"", timeout=30)
            return msgspec.json.decode(reply.data)
        finally:
            await connection.close()

    return asyncio.run(ask())


def engine_mismatch(result, live: dict | None) -> str | None:
    """The replay's state hash differs from the live engine's at the engine's position."""
    if live is None or not result.checkpoints:
        return None
    if live.get("log_position"):
        mine = next((c for c in result.checkpoints if c.position == int(live["log_position"])), None)
    else:
        mine = result.checkpoints[-1]
    if mine is None or mine.state_hash == live["state_hash"]:
        return None
    return (f"state hash at position {mine.position} is {mine.state_hash}, the live engine has "
            f"{live['state_hash']}: the divergence lies at or before this position")


def stream_rows(nats_url: str):
    """(rows, last position, verifiable) of the events stream, read as the store's rows."""
    from audit.replay import default_mapper
    from audit.stream_source import WireToRows, read_events_stream

    messages = asyncio.run(read_events_stream(nats_url))
    total = messages[-1].position if messages else 0
    return WireToRows(default_mapper()).rows(messages), total, False


def compare_with_store(pg: str, events_table: str, nats_url: str):
    """The first difference between the events stream and the store, or None."""
    from audit.log_source import StoreLog
    from audit.replay import default_mapper
    from audit.stream_source import compare_logs

    rows_of_stream, _, _ = stream_rows(nats_url)
    return compare_logs(StoreLog(pg, events_table).rows(), rows_of_stream, default_mapper())


def find_divergence_in_store(pg: str, events_table: str, nats_url: str, admin: list[str],
                             deposit_watchers: list[str], settlers: list[str]):
    """Re-run the commands the store has committed and compare with the stored events."""
    from audit.divergence import find_divergence, store_bounds
    from audit.log_source import StoreLog
    from bus.engine_intake import OperatorKeys

    operators = OperatorKeys(admin=frozenset(admin), deposit_watchers=frozenset(deposit_watchers),
                             settlers=frozenset(settlers))
    position, seq = store_bounds(require_store(pg), events_table)
    rows = StoreLog(pg, events_table).rows(up_to=position, with_chain=False)
    return find_divergence(rows, nats_url, operators, until_seq=seq)
