"""A small per-process cache of encoded public market-data responses, invalidated by projection
position.

Every dashboard asks for the same few public answers (markets, book, recent trades, candles).
The projectors' positions are read with one query at most every `POLL_SECONDS` per process,
by the request that finds them older, others waiting for that read (no background task: the
pool belongs to the serving loop). An entry remembers the positions read BEFORE its query ran
(so its rows are at least that new) and is served only while freshly read positions of the
projectors it reads are unchanged.

Guarantees and limits:
- Read-your-writes: a request carrying `min_seq` never uses the cache (it waits for the
  projections and reads PostgreSQL), so a client that knows its write's position sees it.
- Without `min_seq` an answer may lag the read store by about one poll (20 ms; 40 ms at
  worst for a request that waited for a slow read), like the streams' polling (50 ms).
- Positions that could not be read (store down) disable the cache: it never serves from
  positions it cannot confirm.
- Only successful answers are stored (errors raise before `put`); at most `MAX_ENTRIES`.
- A hit is answered by `CachedAnswers` (pure ASGI, after the rate limiter) before FastAPI
  routes and validates anything: the same URL was validated and answered 200 when stored.
"""

from __future__ import annotations

import asyncio
import logging
import time

from read_api.db import ReadStore

log = logging.getLogger(__name__)

POLL_SECONDS = 0.02
MAX_ENTRIES = 1024
CACHED_PROJECTORS = ("markets", "trades", "book", "account_state")
POSITIONS_SQL = " UNION ALL ".join(
    f"SELECT '{name}' AS projector, greatest(position, consistent_through) AS at"
    f" FROM read.position_{name}" for name in CACHED_PROJECTORS)


class PublicCache:
    """Encoded answers keyed by path and query string, tagged with projector positions."""

    def __init__(self) -> None:
        self.positions: dict[str, int] = {}
        self.polled_at = float("-inf")
        self.polled: asyncio.Event | None = None  # set when the read in progress ends
        # key -> (projectors read, their positions when read, encoded answer)
        self.entries: dict[str, tuple[tuple[str, ...], tuple[int, ...], bytes]] = {}

    async def tag(self, store: ReadStore, projectors: tuple[str, ...]) -> tuple[int, ...] | None:
        """Positions of `projectors` read within the last poll interval; None when unknown.
        Requests arriving while one reads them wait for that read rather than start another."""
        if time.monotonic() - self.polled_at > POLL_SECONDS:
            if self.polled is not None:
                await self.polled.wait()
            else:
                await self._poll(store)
            if time.monotonic() - self.polled_at > 2 * POLL_SECONDS:
                return None  # that read failed or was cancelled: no fresh positions
        try:
            return tuple(self.positions[name] for name in projectors)
        except KeyError:
            return None

    async def _poll(self, store: ReadStore) -> None:
        self.polled = asyncio.Event()
        try:
            rows = await store.all(POSITIONS_SQL)
            self.positions = {row["projector"]: row["at"] for row in rows}
            self.polled_at = time.monotonic()
        except Exception as error:  # the store is down: requests bypass the cache meanwhile
            log.warning("public cache: cannot read projector positions: %s", error)
            self.positions, self.polled_at = {}, float("-inf")
        finally:
            self.polled.set()
            self.polled = None

    async def get(self, store: ReadStore, key: str) -> bytes | None:
        """The stored answer for `key` if the projectors it read have not moved since."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        projectors, tag, body = entry
        return body if await self.tag(store, projectors) == tag else None

    def put(self, key: str, projectors: tuple[str, ...], tag: tuple[int, ...] | None,
            body: bytes) -> None:
        """Store an answer whose query ran after positions `tag` of `projectors` were read."""
        if tag is None:
            return
        if len(self.entries) >= MAX_ENTRIES:
            self.entries.clear()
        self.entries[key] = (projectors, tag, body)


def cache_key(scope) -> str:
    return f"{scope['path']}?{scope['query_string'].decode('latin-1')}"


JSON_HEADERS = [(b"content-type", b"application/json")]


class CachedAnswers:
    """Pure ASGI: answer a GET whose URL is cached and still fresh, else pass it on."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            state = scope["app"].state
            body = await state.public_cache.get(state.store, cache_key(scope))
            if body is not None:
                await send({"type": "http.response.start", "status": 200, "headers": [
                    *JSON_HEADERS, (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
