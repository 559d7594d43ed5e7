"""Public market data routes (no sign-in needed)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Query, Request, Response

from read_api.cache import PublicCache, cache_key
from read_api.responses import encode_body, respond

from read_api.models import Candle, FundingRate, InsuranceFundChange, Market, OrderBook, Page, ProjectorStatus, Trade
from read_api.queries import consistency, markets
from read_api.routes.deps import DEFAULT_LIMIT, Cursor, Limit, MarketName, MinSeq, Store, WaitMs

router = APIRouter(prefix="/v1", tags=["market data"])
MARKET_DATA = ("markets", "trades", "book")
# What each cached answer reads: markets add 24 h volume (candles: trades) and open interest
# (positions: account_state).
MARKETS_READ = ("markets", "trades", "account_state")


async def cached(request: Request, projectors: tuple[str, ...], min_seq: int | None,
                 produce: Callable[[], Awaitable[Any]]) -> Response:
    """`produce()`'s answer, stored in the public cache (served from there by `CachedAnswers`
    while the projectors it reads have not moved); `min_seq` reads are never stored."""
    if min_seq is not None:
        return respond(await produce())
    cache: PublicCache = request.app.state.public_cache
    tag = await cache.tag(request.app.state.store, projectors)  # read before the query below
    body = encode_body(await produce())
    cache.put(cache_key(request.scope), projectors, tag, body)
    return Response(content=body, media_type="application/json")


@router.get("/markets", response_model=list[Market])
async def list_markets(request: Request, store: Store, min_seq: MinSeq = None, wait_ms: WaitMs = 1000):
    """Every market: parameters, status, last price, 24 h volume, open interest, last funding."""
    await consistency.wait_until(store, MARKET_DATA, min_seq, wait_ms)
    return await cached(request, MARKETS_READ, min_seq, lambda: markets.list_markets(store))


@router.get("/markets/{market}", response_model=Market)
async def get_market(request: Request, market: MarketName, store: Store, min_seq: MinSeq = None,
                     wait_ms: WaitMs = 1000):
    """One market."""
    await consistency.wait_until(store, MARKET_DATA, min_seq, wait_ms)
    return await cached(request, MARKETS_READ, min_seq, lambda: markets.get_market(store, market))


@router.get("/markets/{market}/orderbook", response_model=OrderBook)
async def order_book(request: Request, market: MarketName, store: Store,
                     depth: Annotated[int, Query(ge=1, le=500)] = 50,
                     min_seq: MinSeq = None, wait_ms: WaitMs = 1000):
    """Aggregated levels, best first, with the log position they are exact at."""
    await consistency.wait_until(store, ("book",), min_seq, wait_ms)
    return await cached(request, ("book",), min_seq, lambda: markets.order_book(store, market, depth))


@router.get("/markets/{market}/trades", response_model=Page[Trade])
async def trades(request: Request, market: MarketName, store: Store, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None,
                 min_seq: MinSeq = None, wait_ms: WaitMs = 1000):
    """Trades, newest first."""
    await consistency.wait_until(store, ("trades",), min_seq, wait_ms)
    return await cached(request, ("trades",), min_seq, lambda: markets.trades(store, market, limit, cursor))


@router.get("/markets/{market}/candles", response_model=list[Candle])
async def candles(request: Request, market: MarketName, store: Store,
                  resolution: Annotated[str, Query(pattern=r"^(1m|5m|15m|1h|4h|1d)$")] = "1m",
                  start: Annotated[datetime | None, Query(alias="from")] = None,
                  end: Annotated[datetime | None, Query(alias="to")] = None,
                  limit: Limit = DEFAULT_LIMIT, min_seq: MinSeq = None, wait_ms: WaitMs = 1000):
    """OHLCV candles, newest first, within [from, to)."""
    await consistency.wait_until(store, ("trades",), min_seq, wait_ms)
    return await cached(request, ("trades",), min_seq,
                        lambda: markets.candles(store, market, resolution, start, end, limit))


@router.get("/markets/{market}/funding", response_model=Page[FundingRate])
async def funding(market: MarketName, store: Store, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None):
    """Funding rate history, newest first."""
    return respond(await markets.funding_rates(store, market, limit, cursor))


@router.get("/insurance-fund", response_model=Page[InsuranceFundChange])
async def insurance_fund(store: Store, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None):
    """Insurance fund changes, newest first (the first item's balance is the current one)."""
    return respond(await markets.insurance_fund(store, limit, cursor))


@router.get("/status", response_model=list[ProjectorStatus])
async def status(store: Store):
    """Each projector's log position."""
    return respond(await consistency.status(store))
