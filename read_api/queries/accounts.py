"""Per-account queries: state (now or as of a log position), positions, orders, fills,
transfers, funding payments, hourly PnL, liquidations with their explanation, receipts."""

from __future__ import annotations

import json
from datetime import datetime

from read_api.db import ReadStore
from read_api.errors import not_found
from read_api.models import (AccountState, Fill, FundingPayment, Liquidation, Order, Page,
                             PnlHour, Position, Receipt, Transfer)
from read_api.pagination import decode_cursor, encode_cursor

POSITION_COLUMNS = "account, market, size, entry_notional, entry_price, realized_pnl, fees, position, at"


def _page(items: list, limit: int, *key_of) -> Page:
    cursor = encode_cursor(*(items[-1][k] for k in key_of)) if len(items) == limit else None
    return Page.model_construct(items=items, next_cursor=cursor)


async def account_state(store: ReadStore, account: str, as_of: int | None) -> AccountState:
    """Balances and positions now, or as they were right after log position `as_of`
    (the last history row of each balance/position at or below it)."""
    if as_of is None:
        balances, positions, at = await store.all_of(  # one round trip
            ("SELECT account, asset, amount, position FROM read.balances"
             " WHERE account = %s ORDER BY asset", (account,)),
            (f"SELECT {POSITION_COLUMNS} FROM read.positions WHERE account = %s ORDER BY market",
             (account,)),
            ("SELECT greatest(position, consistent_through) AS p FROM read.position_account_state",
             None))
        as_of_position = at[0]["p"] if at else 0
    else:
        balances = await store.all(
            "SELECT DISTINCT ON (asset) account, asset, amount, position FROM read.balance_history"
            " WHERE account = %s AND position <= %s ORDER BY asset, position DESC", (account, as_of))
        positions = await store.all(
            f"SELECT DISTINCT ON (market) {POSITION_COLUMNS} FROM read.positions_history"
            " WHERE account = %s AND position <= %s ORDER BY market, position DESC", (account, as_of))
        as_of_position = as_of
    if not balances and not positions and as_of is None:
        raise not_found(f"account {account!r}")
    return AccountState(account=account, as_of_position=as_of_position,
                        balances=balances,
                        positions=positions)


async def position_history(store: ReadStore, account: str, market: str | None, limit: int,
                           cursor: str | None) -> Page[Position]:
    key = decode_cursor(cursor)
    rows = await store.all(
        f"SELECT {POSITION_COLUMNS} FROM read.positions_history WHERE account = %s"
        " AND (%s::text IS NULL OR market = %s::text) AND (%s::bigint IS NULL OR position < %s::bigint)"
        " ORDER BY position DESC, market LIMIT %s",
        (account, market, market, key and key[0], key and key[0], limit))
    return _page(rows, limit, "position")


async def orders(store: ReadStore, account: str, open_only: bool, market: str | None, limit: int,
                 cursor: str | None) -> Page[Order]:
    key = decode_cursor(cursor, 1)
    rows = await store.all(
        "SELECT * FROM read.orders WHERE account = %s"
        " AND (NOT %s OR status IN ('open', 'partially_filled'))"
        " AND (%s::text IS NULL OR market = %s::text) AND (%s::bigint IS NULL OR position < %s::bigint)"
        " ORDER BY position DESC, order_id LIMIT %s",
        (account, open_only, market, market, key and key[0], key and key[0], limit))
    return _page(rows, limit, "position")


async def fills(store: ReadStore, account: str, market: str | None, limit: int,
                cursor: str | None) -> Page[Fill]:
    key = decode_cursor(cursor, 2)
    rows = await store.all(
        "SELECT * FROM read.fills WHERE account = %s AND (%s::text IS NULL OR market = %s::text)"
        " AND (%s::bigint IS NULL OR (position, fill_index) < (%s::bigint, %s::int))"
        " ORDER BY position DESC, fill_index DESC LIMIT %s",
        (account, market, market, key and key[0], key and key[0], key and key[1], limit))
    return _page(rows, limit, "position", "fill_index")


async def transfers(store: ReadStore, account: str, limit: int, cursor: str | None) -> Page[Transfer]:
    key = decode_cursor(cursor)
    rows = await store.all(
        "SELECT * FROM read.transfers WHERE account = %s AND (%s::bigint IS NULL OR position < %s::bigint)"
        " ORDER BY position DESC, kind LIMIT %s", (account, key and key[0], key and key[0], limit))
    return _page(rows, limit, "position")


async def funding_payments(store: ReadStore, account: str, limit: int,
                           cursor: str | None) -> Page[FundingPayment]:
    key = decode_cursor(cursor)
    rows = await store.all(
        "SELECT * FROM read.funding_payments WHERE account = %s"
        " AND (%s::bigint IS NULL OR position < %s::bigint) ORDER BY position DESC, market LIMIT %s",
        (account, key and key[0], key and key[0], limit))
    return _page(rows, limit, "position")


async def pnl_history(store: ReadStore, account: str, start: datetime | None, end: datetime | None,
                      limit: int) -> list[PnlHour]:
    rows = await store.all(
        "SELECT *, realized_pnl - fees + funding AS net FROM read.pnl_hourly WHERE account = %s"
        " AND (%s::timestamptz IS NULL OR hour >= %s::timestamptz)"
        " AND (%s::timestamptz IS NULL OR hour < %s::timestamptz) ORDER BY hour DESC LIMIT %s",
        (account, start, start, end, end, limit))
    return rows


def explain(row: dict) -> str:
    """Why the liquidation happened, in words, from the inputs that decided it."""
    ratio = "n/a" if row["margin_ratio_bps"] is None else f"{row['margin_ratio_bps']} bps"
    return (f"margin ratio {ratio}: collateral value {row['collateral_value']}"
            f" fell below the maintenance requirement {row['maintenance_margin']} (quote units 1e6);"
            f" {row['size']} base units (1e9) closed at price {row['price']},"
            f" penalty {row['penalty']} ({row['reason']})")


async def liquidations(store: ReadStore, account: str, limit: int, cursor: str | None) -> Page[Liquidation]:
    key = decode_cursor(cursor)
    rows = await store.all(
        "SELECT * FROM read.liquidations WHERE account = %s"
        " AND (%s::bigint IS NULL OR position < %s::bigint) ORDER BY position DESC, market LIMIT %s",
        (account, key and key[0], key and key[0], limit))
    items = [{**r, "inputs": json.loads(r["inputs"] or "{}"), "explanation": explain(r)}
             for r in rows]
    return _page(items, limit, "position")


async def receipt(store: ReadStore, owner: str, client_command_id: str) -> Receipt:
    row = await store.one("SELECT * FROM read.command_receipts WHERE owner = %s"
                          " AND client_command_id = %s", (owner, client_command_id))
    if row is None:
        raise not_found(f"receipt for command {client_command_id!r}")
    return Receipt.model_construct(**{**row, "events": json.loads(row["event_seqs"] or "[]")})
