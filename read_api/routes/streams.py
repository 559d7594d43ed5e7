"""WebSocket streams for dashboards: markets, order book (snapshot then deltas, resumable),
trades, candles and the private account channel.

Every message is JSON with `type` and `position` (the log position it is exact at). The order
book stream sends `{"type": "snapshot", ...}` then `{"type": "delta", ...}` messages; a client
that reconnects with `from_seq=<last position seen>` gets only the deltas after it. Streams poll
the read models (every `stream_poll_seconds`), so any API replica serves any client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from read_api.auth import valid_wallet
from read_api.errors import ClientError
from read_api.queries import accounts, markets
from read_api.responses import encode
from read_api.settings import MAX_INT64

router = APIRouter(prefix="/v1/ws")
CLOSE_POLICY = 1008  # policy violation: bad input or not allowed


async def _serve(ws: WebSocket, produce: Callable[[], Awaitable[list[dict]]]) -> None:
    """Send whatever `produce` returns, every poll, until the client goes away."""
    await ws.accept()
    poll = ws.app.state.settings.stream_poll_seconds
    closed = asyncio.create_task(_until_closed(ws))
    try:
        while not closed.done():
            for message in await produce():
                await ws.send_text(encode(message))
            await asyncio.wait({closed}, timeout=poll)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        closed.cancel()
        with contextlib.suppress(BaseException):
            await closed


async def _until_closed(ws: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return


async def _refuse(ws: WebSocket, reason: str) -> None:
    await ws.close(code=CLOSE_POLICY, reason=reason[:120])


@router.websocket("/orderbook/{market}")
async def order_book(ws: WebSocket, market: str, from_seq: int | None = Query(None, ge=0, le=MAX_INT64),
                     depth: int = Query(100, ge=1, le=500)):
    store = ws.app.state.store
    try:
        await markets.check_market(store, market)
    except ClientError as error:
        return await _refuse(ws, error.message)
    state = {"after": from_seq}

    async def produce() -> list[dict]:
        if state["after"] is None:
            book = await markets.order_book(store, market, depth)
            state["after"] = book.position
            return [{"type": "snapshot", **book.__dict__}]
        deltas = await markets.book_deltas(store, market, state["after"])
        if deltas:
            state["after"] = deltas[-1]["position"]
        return [{"type": "delta", **delta} for delta in deltas]

    await _serve(ws, produce)


@router.websocket("/trades/{market}")
async def trades(ws: WebSocket, market: str, from_trade_id: int = Query(0, ge=0, le=MAX_INT64)):
    store = ws.app.state.store
    try:
        await markets.check_market(store, market)
    except ClientError as error:
        return await _refuse(ws, error.message)
    state = {"after": from_trade_id}

    async def produce() -> list[dict]:
        rows = await markets.trades_after(store, market, state["after"])
        if rows:
            state["after"] = rows[-1]["trade_id"]
        return [{"type": "trade", **trade} for trade in rows]

    await _serve(ws, produce)


@router.websocket("/candles/{market}")
async def candles(ws: WebSocket, market: str, resolution: str = Query("1m")):
    store = ws.app.state.store
    try:
        await markets.candles(store, market, resolution, None, None, 1)
    except ClientError as error:
        return await _refuse(ws, error.message)
    state: dict = {"last": None}

    async def produce() -> list[dict]:
        latest = await markets.candles(store, market, resolution, None, None, 1)
        if not latest or latest[0] == state["last"]:
            return []
        state["last"] = latest[0]
        return [{"type": "candle", **latest[0]}]

    await _serve(ws, produce)


@router.websocket("/markets")
async def markets_stream(ws: WebSocket):
    store = ws.app.state.store
    state: dict = {"last": None}

    async def produce() -> list[dict]:
        rows = [m.model_dump() for m in await markets.list_markets(store)]
        if rows == state["last"]:
            return []
        state["last"] = rows
        return [{"type": "markets", "markets": rows}]

    await _serve(ws, produce)


@router.websocket("/account/{owner}/{sub_account}")
async def account(ws: WebSocket, owner: str, sub_account: int, token: str = Query("", max_length=500),
                  from_seq: int = Query(0, ge=0, le=MAX_INT64)):
    """Private channel: fills and order changes after `from_seq`, and the account state."""
    if not valid_wallet(owner) or not 0 <= sub_account <= 255:
        return await _refuse(ws, "owner must be a base58 wallet and sub_account 0..255")
    try:
        wallet = ws.app.state.authenticator.wallet_of(token)
    except ClientError as error:
        return await _refuse(ws, error.message)
    if wallet != owner:
        return await _refuse(ws, "this token may only read its own wallet's accounts")
    store, key = ws.app.state.store, f"{owner}/{sub_account}"
    state = {"after": from_seq}

    async def produce() -> list[dict]:
        fills = await store.all("SELECT * FROM read.fills WHERE account = %s AND position > %s"
                                " ORDER BY position, fill_index LIMIT 500", (key, state["after"]))
        orders = await store.all("SELECT * FROM read.orders WHERE account = %s AND position > %s"
                                 " ORDER BY position LIMIT 500", (key, state["after"]))
        if not fills and not orders:
            return []
        reached = max([r["position"] for r in fills] + [r["position"] for r in orders])
        state["after"] = reached
        try:
            snapshot = (await accounts.account_state(store, key, None)).model_dump()
        except ClientError:
            snapshot = None
        return [{"type": "account", "position": reached, "state": snapshot,
                 "fills": fills, "orders": orders}]

    await _serve(ws, produce)
