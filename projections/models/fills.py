"""Fills per account, from Account.TradeSettled: side, liquidity, price, size, fee, realized PnL."""

from __future__ import annotations

import psycopg

from projections.event import ProjectedEvent
from projections.model import ReadModel
from projections.models.keyed import append_rows
from projections.models.shapes import BASE_SCALE, account_key
from projections.staging import Stager

COLUMNS = [
    ("account", "text"), ("position", "int8"), ("fill_index", "int4"), ("market", "text"),
    ("order_id", "text"), ("side", "text"), ("liquidity", "text"), ("price", "int8"),
    ("size", "int8"), ("notional", "int8"), ("fee", "int8"), ("realized_pnl", "int8"),
    ("at", "timestamptz"),
]


class FillsModel(ReadModel):
    name = "fills"
    tables = ("fills",)

    def ddl(self, schema: str) -> list[str]:
        body = ", ".join(f"{name} {'bigint' if kind == 'int8' else 'int' if kind == 'int4' else kind}"
                         for name, kind in COLUMNS)
        return [f"CREATE TABLE IF NOT EXISTS {schema}.fills ({body}, PRIMARY KEY (account, position, fill_index))",
                f"CREATE INDEX IF NOT EXISTS fills_by_market ON {schema}.fills (account, market, position DESC)"]

    def new_batch(self) -> list[tuple]:
        return []

    def on_Account_TradeSettled(self, batch: list[tuple], event: ProjectedEvent) -> None:
        market = str(event.payload["market"])
        for settlement in event.payload["settlements"]:
            account = account_key(event.key, settlement["sub_account"])
            for index, fill in enumerate(settlement["fills"]):
                price, size = int(fill["price"]), int(fill["size"])
                batch.append((account, event.position, index, market, str(fill["order_id"]),
                              str(fill["side"]), str(fill.get("liquidity", "")), price, size,
                              price * size // BASE_SCALE, int(fill.get("fee", 0)),
                              int(fill.get("realized_pnl", 0)), event.time))

    def flush(self, conn: psycopg.Connection, schema: str, batch: list[tuple], stager: Stager) -> None:
        append_rows(conn, stager, f"{schema}.fills", COLUMNS, batch)
