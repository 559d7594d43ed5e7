"""The read API's bootstrap: the one place that builds the store, auth and limits, and the app."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from projections.offline import prepare_serving_schemas
from read_api import errors
from read_api.auth import Authenticator
from read_api.db import ReadStore
from read_api.ratelimit import RateLimiter, retry_after
from read_api.routes import account, auth, public, streams
from read_api.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """A FastAPI app serving the read models of `settings.dsn`."""
    store = ReadStore(settings.dsn, settings.pool_size)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        # The serving views exist from the start, even before a projector's first run.
        await asyncio.to_thread(prepare_serving_schemas, settings.dsn)
        await store.open()
        yield
        await store.close()

    app = FastAPI(title="QuantDesk read API", version="1.0",
                  description="Market data and account read models of the QuantDesk perpetuals "
                              "exchange. Amounts are fixed-point integers: price/quote 1e6, base "
                              "size 1e9, funding 1e9, ratios bps.", lifespan=lifespan)
    app.state.settings = settings
    app.state.store = store
    app.state.authenticator = Authenticator(settings)
    app.state.limiter = RateLimiter(settings.tiers)
    errors.install(app)
    for router in (public.router, account.router, account.receipts_router, auth.router,
                   streams.router):
        app.include_router(router)

    @app.middleware("http")
    async def rate_limit(request: Request, call_next):
        tier, key = _caller(request, settings)
        wait = app.state.limiter.check(tier, key)
        if wait:
            return JSONResponse({"error": "RateLimited", "message": f"too many requests for the"
                                 f" {tier} tier; retry after the Retry-After seconds"},
                                status_code=429, headers={"Retry-After": retry_after(wait)})
        return await call_next(request)

    return app


def _caller(request: Request, settings: Settings) -> tuple[str, str]:
    """The caller's tier and bucket key: its wallet when signed in, else its IP address."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        try:
            wallet = request.app.state.authenticator.wallet_of(header[7:].strip())
            return ("market_maker" if wallet in settings.market_makers else "authenticated"), wallet
        except (errors.ClientError, ValueError, TypeError):
            pass
    return "anonymous", request.client.host if request.client else "unknown"
