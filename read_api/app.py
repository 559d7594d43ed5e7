"""The read API's bootstrap: the one place that builds the store, auth and limits, and the app."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from observability.asgi import RouteTimingMiddleware
from observability.health import Readiness
from observability.metrics import ReadApiMetrics
from projections.offline import prepare_serving_schemas
from read_api import errors
from read_api.auth import Authenticator
from read_api.nonces import PostgresNonceLedger, create_nonce_table
from read_api.cache import CachedAnswers, PublicCache
from read_api.db import ReadStore
from read_api.ratelimit import RateLimiter, retry_after
from read_api.routes import account, auth, public, streams
from read_api.settings import Settings


def create_app(settings: Settings, *, metrics: ReadApiMetrics | None = None,
               readiness: Readiness | None = None) -> FastAPI:
    """A FastAPI app serving the read models of `settings.dsn`; with `metrics`, timed by route."""
    store = ReadStore(settings.dsn, settings.pool_size)
    public_cache = PublicCache()
    serving = {"open": False}
    if readiness is not None:
        readiness.add("store", lambda: serving["open"])

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        # The serving views exist from the start, even before a projector's first run.
        await asyncio.to_thread(prepare_serving_schemas, settings.dsn)
        await asyncio.to_thread(create_nonce_table, settings.dsn)
        await store.open()
        serving["open"] = True
        yield
        serving["open"] = False
        await store.close()

    app = FastAPI(title="QuantDesk read API", version="1.0",
                  description="Market data and account read models of the QuantDesk perpetuals "
                              "exchange. Amounts are fixed-point integers: price/quote 1e6, base "
                              "size 1e9, funding 1e9, ratios bps.", lifespan=lifespan)
    app.state.settings = settings
    app.state.store = store
    app.state.public_cache = public_cache
    app.state.authenticator = Authenticator(settings, PostgresNonceLedger(store.pool))
    app.state.limiter = RateLimiter(settings.tiers)
    errors.install(app)
    for router in (public.router, account.router, account.receipts_router, auth.router,
                   streams.router):
        app.include_router(router)

    app.add_middleware(CachedAnswers)  # inside the rate limiter: a cached answer still counts
    app.add_middleware(RateLimitMiddleware, settings=settings)
    if metrics is not None:  # outermost: the latency a caller sees, 429s and cached answers included
        app.add_middleware(RouteTimingMiddleware, metrics=metrics)
    return app


class RateLimitMiddleware:
    """Pure ASGI (no per-request task group): take a token from the caller's bucket, or 429."""

    def __init__(self, app, settings: Settings) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        application = scope["app"]
        tier, key = _caller(scope, application.state.authenticator, self.settings)
        wait = application.state.limiter.check(tier, key)
        if not wait:
            return await self.app(scope, receive, send)
        response = JSONResponse({"error": "RateLimited", "message": f"too many requests for the {tier}"
                                 " tier; retry after the Retry-After seconds"},
                                status_code=429, headers={"Retry-After": retry_after(wait)})
        await response(scope, receive, send)


def _caller(scope, authenticator: Authenticator, settings: Settings) -> tuple[str, str]:
    """The caller's tier and bucket key: its wallet when signed in, else its IP address."""
    header = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
    if header[:7].lower() == b"bearer ":
        try:
            wallet = authenticator.wallet_of(header[7:].decode("latin-1").strip())
            return ("market_maker" if wallet in settings.market_makers else "authenticated"), wallet
        except (errors.ClientError, ValueError, TypeError):
            pass
    client = scope.get("client")
    return "anonymous", client[0] if client else "unknown"
