"""Market data: markets with derived 24 h figures, order book, trades, candles, funding."""

from __future__ import annotations

import json
import time
from datetime import datetime

from read_api.db import ReadStore
from read_api.errors import ClientError, not_found
from read_api.models import (BookDelta, Candle, FundingRate, InsuranceFundChange, Market,
                             OrderBook, Page, Trade)
from read_api.pagination import decode_cursor, encode_cursor

RESOLUTIONS = ("1m", "5m", "15m", "1h", "4h", "1d")

# 24 h figures end at the market's last trade (event time), so answers never depend on the
# reader's clock; open interest is the sum of long positions (= sum of shorts).
MARKETS_SQL = """
SELECT m.*, coalesce(v.base, 0)::text AS volume_24h_base, coalesce(v.quote, 0)::text AS volume_24h_quote,
       coalesce(v.trades, 0) AS trades_24h, coalesce(oi.size, 0)::bigint AS open_interest
FROM read.markets m
LEFT JOIN LATERAL (SELECT sum(base_volume) AS base, sum(quote_volume) AS quote, sum(trades) AS trades
                   FROM read.candles_1h c WHERE c.market = m.market
                   AND c.bucket > m.last_trade_at - interval '24 hours') v ON true
LEFT JOIN LATERAL (SELECT sum(size) AS size FROM read.positions p
                   WHERE p.market = m.market AND p.size > 0) oi ON true
"""


def _market(row: dict) -> Market:
    return Market(**{**row, "parameters": json.loads(row["parameters"] or "{}")})


async def list_markets(store: ReadStore) -> list[Market]:
    return [_market(row) for row in await store.all(MARKETS_SQL + " ORDER BY m.market")]


async def get_market(store: ReadStore, market: str) -> Market:
    row = await store.one(MARKETS_SQL + " WHERE m.market = %s", (market,))
    if row is None:
        raise not_found(f"market {market!r}")
    return _market(row)


MARKET_CACHE_SECONDS = 1.0


async def check_market(store: ReadStore, market: str) -> None:
    """404 for a market that does not exist (names cached for a second: markets are rare)."""
    now = time.monotonic()
    cached = getattr(store, "market_names", None)
    if cached is None or market not in cached[1] and now - cached[0] > 0.2 or now - cached[0] > MARKET_CACHE_SECONDS:
        rows = await store.all("SELECT market FROM read.markets")
        store.market_names = cached = (now, {row["market"] for row in rows})
    if market not in cached[1]:
        raise not_found(f"market {market!r}")


async def order_book(store: ReadStore, market: str, depth: int) -> OrderBook:
    """Top `depth` levels per side and the log position the snapshot is exact at."""
    await check_market(store, market)
    rows = await store.all(  # one round trip: both sides and the position they are exact at
        "(SELECT side, price, size, orders FROM read.book_levels WHERE market = %(m)s AND side = 'buy'"
        " ORDER BY price DESC LIMIT %(d)s) UNION ALL"
        " (SELECT side, price, size, orders FROM read.book_levels WHERE market = %(m)s AND side = 'sell'"
        " ORDER BY price LIMIT %(d)s) UNION ALL"
        " (SELECT 'at', greatest(position, consistent_through), 0, 0 FROM read.position_book)",
        {"m": market, "d": depth})
    levels = {"buy": [], "sell": []}
    position = 0
    for row in rows:
        side = row.pop("side")
        if side == "at":
            position = row["price"]
        else:
            levels[side].append(row)
    return OrderBook.model_construct(market=market, position=position, bids=levels["buy"],
                                     asks=levels["sell"])


async def book_deltas(store: ReadStore, market: str, after: int, limit: int = 1000) -> list[BookDelta]:
    rows = await store.all("SELECT * FROM read.book_deltas WHERE market = %s AND position > %s"
                           " ORDER BY position, side, price LIMIT %s", (market, after, limit))
    return rows


async def trades(store: ReadStore, market: str, limit: int, cursor: str | None) -> Page[Trade]:
    """Newest first; the cursor continues with older trades."""
    await check_market(store, market)
    key = decode_cursor(cursor)
    rows = await store.all(
        "SELECT trade_id, market, position, at, price, size, quote, taker_side FROM read.trades"
        " WHERE market = %s AND (%s::bigint IS NULL OR trade_id < %s::bigint)"
        " ORDER BY trade_id DESC LIMIT %s", (market, key and key[0], key and key[0], limit))
    items = rows
    return Page.model_construct(items=items, next_cursor=encode_cursor(items[-1]['trade_id']) if len(items) == limit else None)


async def trades_after(store: ReadStore, market: str, after_trade_id: int, limit: int = 500) -> list[Trade]:
    rows = await store.all(
        "SELECT trade_id, market, position, at, price, size, quote, taker_side FROM read.trades"
        " WHERE market = %s AND trade_id > %s ORDER BY trade_id LIMIT %s", (market, after_trade_id, limit))
    return rows


async def candles(store: ReadStore, market: str, resolution: str, start: datetime | None,
                  end: datetime | None, limit: int) -> list[Candle]:
    """Newest first within [start, end)."""
    if resolution not in RESOLUTIONS:
        raise ClientError(400, "InvalidResolution", f"resolution must be one of {', '.join(RESOLUTIONS)}")
    await check_market(store, market)
    rows = await store.all(
        f"SELECT market, bucket, open, high, low, close, base_volume::text, quote_volume::text, trades"
        f" FROM read.candles_{resolution} WHERE market = %s"
        f" AND (%s::timestamptz IS NULL OR bucket >= %s::timestamptz)"
        f" AND (%s::timestamptz IS NULL OR bucket < %s::timestamptz)"
        f" ORDER BY bucket DESC LIMIT %s", (market, start, start, end, end, limit))
    return [{**row, "resolution": resolution} for row in rows]


async def funding_rates(store: ReadStore, market: str, limit: int, cursor: str | None) -> Page[FundingRate]:
    await check_market(store, market)
    key = decode_cursor(cursor)
    rows = await store.all(
        "SELECT * FROM read.funding_rates WHERE market = %s AND (%s::bigint IS NULL OR position < %s::bigint)"
        " ORDER BY position DESC LIMIT %s", (market, key and key[0], key and key[0], limit))
    items = rows
    return Page.model_construct(items=items, next_cursor=encode_cursor(items[-1]['position']) if len(items) == limit else None)


async def insurance_fund(store: ReadStore, limit: int, cursor: str | None) -> Page[InsuranceFundChange]:
    key = decode_cursor(cursor)
    rows = await store.all(
        "SELECT * FROM read.insurance_fund WHERE (%s::bigint IS NULL OR position < %s::bigint)"
        " ORDER BY position DESC LIMIT %s", (key and key[0], key and key[0], limit))
    items = rows
    return Page.model_construct(items=items, next_cursor=encode_cursor(items[-1]['position']) if len(items) == limit else None)
