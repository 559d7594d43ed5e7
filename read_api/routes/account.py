"""Private per-account routes: a bearer token of the account's owner wallet is required."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from read_api.responses import respond
from fastapi import APIRouter, Depends, Path, Query

from read_api.models import (AccountState, Fill, FundingPayment, Liquidation, Order, Page, PnlHour,
                             Position, Receipt, Transfer)
from read_api.queries import accounts, consistency
from read_api.routes.deps import (DEFAULT_LIMIT, Cursor, Limit, MinSeq, Store, WaitMs, account_path,
                                  signed_in_wallet)
from read_api.settings import MAX_INT64
from read_api.auth import valid_wallet
from read_api.errors import ClientError

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])
receipts_router = APIRouter(prefix="/v1/receipts", tags=["accounts"])
Account = Annotated[str, Depends(account_path)]
MarketFilter = Annotated[str | None, Query(max_length=32, pattern=r"^[A-Z0-9]{2,16}-PERP$")]
ACCOUNT_MODELS = ("account_state",)


@router.get("/{owner}/{sub_account}", response_model=AccountState)
async def state(account: Account, store: Store,
                as_of_seq: Annotated[int | None, Query(ge=0, le=MAX_INT64,
                                                       description="state right after this log position")] = None,
                min_seq: MinSeq = None, wait_ms: WaitMs = 1000):
    """Balances and positions, now or as of a log position."""
    await consistency.wait_until(store, ACCOUNT_MODELS, min_seq or as_of_seq, wait_ms)
    return respond(await accounts.account_state(store, account, as_of_seq))


@router.get("/{owner}/{sub_account}/positions", response_model=list[Position])
async def positions(account: Account, store: Store,
                    as_of_seq: Annotated[int | None, Query(ge=0, le=MAX_INT64)] = None,
                    min_seq: MinSeq = None, wait_ms: WaitMs = 1000):
    """Current positions, or as of a log position."""
    await consistency.wait_until(store, ACCOUNT_MODELS, min_seq or as_of_seq, wait_ms)
    try:
        return respond((await accounts.account_state(store, account, as_of_seq)).positions)
    except ClientError as error:
        if error.status == 404:
            return []
        raise


@router.get("/{owner}/{sub_account}/positions/history", response_model=Page[Position])
async def position_history(account: Account, store: Store, market: MarketFilter = None,
                           limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None):
    """Every change of the account's positions, newest first."""
    return respond(await accounts.position_history(store, account, market, limit, cursor))


@router.get("/{owner}/{sub_account}/orders", response_model=Page[Order])
async def orders(account: Account, store: Store,
                 status: Annotated[str, Query(pattern=r"^(open|all)$")] = "all",
                 market: MarketFilter = None, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None,
                 min_seq: MinSeq = None, wait_ms: WaitMs = 1000):
    """Orders (open, or all with their history), newest change first."""
    await consistency.wait_until(store, ("orders",), min_seq, wait_ms)
    return respond(await accounts.orders(store, account, status == "open", market, limit, cursor))


@router.get("/{owner}/{sub_account}/fills", response_model=Page[Fill])
async def fills(account: Account, store: Store, market: MarketFilter = None,
                limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None,
                min_seq: MinSeq = None, wait_ms: WaitMs = 1000):
    """Fills, newest first."""
    await consistency.wait_until(store, ("fills",), min_seq, wait_ms)
    return respond(await accounts.fills(store, account, market, limit, cursor))


@router.get("/{owner}/{sub_account}/transfers", response_model=Page[Transfer])
async def transfers(account: Account, store: Store, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None):
    """Deposits, withdrawals and transfers, newest first."""
    return respond(await accounts.transfers(store, account, limit, cursor))


@router.get("/{owner}/{sub_account}/funding-payments", response_model=Page[FundingPayment])
async def funding_payments(account: Account, store: Store, limit: Limit = DEFAULT_LIMIT,
                           cursor: Cursor = None):
    """Funding paid and received, newest first."""
    return respond(await accounts.funding_payments(store, account, limit, cursor))


@router.get("/{owner}/{sub_account}/pnl", response_model=list[PnlHour])
async def pnl(account: Account, store: Store,
              start: Annotated[datetime | None, Query(alias="from")] = None,
              end: Annotated[datetime | None, Query(alias="to")] = None,
              limit: Annotated[int, Query(ge=1, le=24 * 366)] = 24 * 7):
    """Hourly PnL (realized, fees, funding, net), newest first."""
    return respond(await accounts.pnl_history(store, account, start, end, limit))


@router.get("/{owner}/{sub_account}/liquidations", response_model=Page[Liquidation])
async def liquidations(account: Account, store: Store, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None):
    """Liquidations with the inputs that decided them and an explanation."""
    return respond(await accounts.liquidations(store, account, limit, cursor))


@receipts_router.get("/{owner}/{client_command_id}", response_model=Receipt)
async def receipt(owner: Annotated[str, Path(min_length=32, max_length=44)],
                  client_command_id: Annotated[str, Path(min_length=1, max_length=128)],
                  store: Store, wallet: Annotated[str, Depends(signed_in_wallet)],
                  min_seq: MinSeq = None, wait_ms: WaitMs = 1000):
    """The outcome of a command, by the client's command id."""
    if not valid_wallet(owner):
        raise ClientError(400, "InvalidWallet", "owner must be a base58 ed25519 public key")
    if wallet != owner:
        raise ClientError(403, "Forbidden", "this token may only read its own wallet's receipts")
    await consistency.wait_until(store, ("receipts",), min_seq, wait_ms)
    return respond(await accounts.receipt(store, owner, client_command_id))
