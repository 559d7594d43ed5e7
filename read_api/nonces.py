"""Where redeemed sign-in nonces are remembered, so each buys one token across every worker.

A nonce is self-authenticating (auth.py), so any worker can check it; single use needs one
shared memory of redeemed nonces. Several read API processes serve behind one address, so that
memory is a table in the read store (`read_api.redeemed_nonces`), not a dict per process. Rows
are kept until the nonce's own expiry (after which the nonce is refused anyway) and dropped by
later redemptions.
"""

from __future__ import annotations

from typing import Protocol

import psycopg
from psycopg_pool import AsyncConnectionPool

NONCES_DDL = (
    "CREATE SCHEMA IF NOT EXISTS read_api",
    """CREATE TABLE IF NOT EXISTS read_api.redeemed_nonces (
        nonce text PRIMARY KEY,
        expires_at bigint NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS redeemed_nonces_expiry ON read_api.redeemed_nonces (expires_at)",
)
# One round trip: forget expired nonces, then claim this one (nothing returned if it was taken).
REDEEM = """WITH expired AS (DELETE FROM read_api.redeemed_nonces WHERE expires_at < %(now)s)
    INSERT INTO read_api.redeemed_nonces VALUES (%(nonce)s, %(expires_at)s)
    ON CONFLICT DO NOTHING RETURNING 1"""


class NonceLedger(Protocol):
    async def redeem(self, nonce: str, expires_at: int, now: int) -> bool:
        """True the first time `nonce` is redeemed, False ever after (until it expires)."""


class MemoryNonceLedger:
    """One process's memory: enough for a single worker and for the pure unit tests."""

    def __init__(self) -> None:
        self.redeemed: dict[str, int] = {}

    async def redeem(self, nonce: str, expires_at: int, now: int) -> bool:
        if len(self.redeemed) > 10_000:
            self.redeemed = {n: e for n, e in self.redeemed.items() if e >= now}
        if nonce in self.redeemed:
            return False
        self.redeemed[nonce] = expires_at
        return True


class PostgresNonceLedger:
    """The read store's table: shared by every read API process on that store."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def redeem(self, nonce: str, expires_at: int, now: int) -> bool:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(REDEEM, {"nonce": nonce, "expires_at": expires_at, "now": now})
            return await cursor.fetchone() is not None


def create_nonce_table(dsn: str) -> None:
    """Create the ledger's table (idempotent; processes starting together take turns)."""
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('read_api.redeemed_nonces'))")
        for statement in NONCES_DDL:
            conn.execute(statement)
