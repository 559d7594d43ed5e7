"""The read store: one async connection pool, and helpers that return rows as dicts."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool


class ReadStore:
    """Runs plain SQL against the `read` schema's views."""

    def __init__(self, dsn: str, size: int = 8) -> None:
        self.pool = AsyncConnectionPool(dsn, min_size=min(2, size), max_size=size, open=False,
                                        kwargs={"autocommit": True, "row_factory": dict_row})

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=30)

    async def close(self) -> None:
        await self.pool.close()

    async def all(self, sql: str, params: Any = None) -> list[dict]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            return await cursor.fetchall()

    async def all_of(self, *statements: tuple[str, Any]) -> list[list[dict]]:
        """The rows of several (sql, params) on one connection in one round trip (a pipeline),
        read in order as separate statements would be; for endpoints that need a few."""
        async with self.pool.connection() as conn:
            async with conn.pipeline():
                cursors = [await conn.execute(sql, params) for sql, params in statements]
            return [await cursor.fetchall() for cursor in cursors]

    async def one(self, sql: str, params: Any = None) -> dict | None:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            return await cursor.fetchone()
