"""What routes share: the store, the settings, the signed-in wallet, common parameters.

Dependencies are `async def` although none of them awaits: FastAPI runs a plain `def`
dependency in a worker thread, a thread hop per dependency per request (most of the API's CPU
per request when they were plain functions). They must stay non-blocking."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from read_api.auth import Authenticator, valid_wallet
from read_api.db import ReadStore
from read_api.errors import ClientError
from read_api.pagination import DEFAULT_PAGE, MAX_PAGE
from read_api.settings import MAX_INT64, Settings


async def store(request: Request) -> ReadStore:
    return request.app.state.store


async def settings(request: Request) -> Settings:
    return request.app.state.settings


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def signed_in_wallet(request: Request) -> str:
    """The wallet of the request's bearer token; 401 without a valid one."""
    token = bearer_token(request)
    if token is None:
        raise ClientError(401, "AuthenticationRequired",
                          "account data needs a bearer token from POST /v1/auth/token",
                          headers={"WWW-Authenticate": "Bearer"})
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator.wallet_of(token)


async def account_path(owner: Annotated[str, Path(min_length=32, max_length=44, description="owner wallet (base58)")],
                       sub_account: Annotated[int, Path(ge=0, le=255)],
                       wallet: Annotated[str, Depends(signed_in_wallet)]) -> str:
    """The `<owner>/<sub_account>` key, once the caller is proven to be that owner."""
    if not valid_wallet(owner):
        raise ClientError(400, "InvalidWallet", "owner must be a base58 ed25519 public key")
    if wallet != owner:
        raise ClientError(403, "Forbidden", "this token may only read its own wallet's accounts")
    return f"{owner}/{sub_account}"


Store = Annotated[ReadStore, Depends(store)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="page size")]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")]
MinSeq = Annotated[int | None, Query(ge=0, le=MAX_INT64,
                                     description="wait until the read models reached this log position")]
WaitMs = Annotated[int, Query(ge=0, le=5000, description="the longest to wait for min_seq, ms")]
MarketName = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Z0-9]{2,16}-PERP$")]
DEFAULT_LIMIT = DEFAULT_PAGE
