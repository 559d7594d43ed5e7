"""The audit hash chain as the settler reads it: the head hash at a log position, and back.

Table `exchange_events_chain(notification_id, prev_hash, hash)` (audit.chain, written by a
trigger in the same transaction as the events). A batch commits to the hash at its last
position; after a crash the on-chain hash tells the settler where it had settled up to. The
exchange starts with an all-zero hash on chain, meaning "nothing settled" (position 0).
"""

from __future__ import annotations

from audit.chain import chain_table_name, install_chain
from bus.event_store import EVENTS_TABLE

CHAIN_TABLE = chain_table_name(EVENTS_TABLE)
NOTHING_SETTLED = bytes(32)


class ChainMissing(RuntimeError):
    """The audit chain is not installed (run `qd audit install-chain`)."""


def check_installed(conn) -> None:
    """Raise ChainMissing unless the chain table exists."""
    found = conn.execute("SELECT to_regclass(%s)", (f"public.{CHAIN_TABLE}",)).fetchone()[0]
    if found is None:
        raise ChainMissing(f"{CHAIN_TABLE} does not exist: install the audit hash chain first")


def install(conn) -> None:
    """Install the audit chain on the event store (idempotent; chains events already stored).
    Needs the events table, which the engine creates at its first start."""
    if conn.execute("SELECT to_regclass(%s)", (f"public.{CHAIN_TABLE}",)).fetchone()[0] is not None:
        return
    if conn.execute("SELECT to_regclass(%s)", (f"public.{EVENTS_TABLE}",)).fetchone()[0] is None:
        raise ChainMissing(f"{EVENTS_TABLE} does not exist yet (start the engine first)")
    install_chain(conn, EVENTS_TABLE)


def hash_at(conn, position: int) -> bytes:
    """The chain's head hash right after log position ``position``."""
    row = conn.execute(f"SELECT hash FROM {CHAIN_TABLE} WHERE notification_id = %s", (position,)).fetchone()
    if row is None:
        raise ChainMissing(f"no chain row at position {position}")
    return bytes(row[0])


def position_of(conn, log_hash: bytes) -> int:
    """The log position whose head hash is ``log_hash`` (0 for the initial all-zero hash)."""
    if log_hash == NOTHING_SETTLED:
        return 0
    row = conn.execute(f"SELECT notification_id FROM {CHAIN_TABLE} WHERE hash = %s", (log_hash,)).fetchone()
    if row is None:
        raise ChainMissing(f"the on-chain log hash {log_hash.hex()} is not in this event log")
    return int(row[0])
