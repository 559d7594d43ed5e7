"""Deposits, withdrawals and transfers per account, newest first (one row per movement)."""

from __future__ import annotations

import psycopg

from projections.event import ProjectedEvent
from projections.model import ReadModel
from projections.models.keyed import append_rows
from projections.models.shapes import account_of
from projections.staging import Stager

COLUMNS = [("account", "text"), ("position", "int8"), ("kind", "text"), ("asset", "text"),
           ("amount", "int8"), ("counterparty", "text"), ("status", "text"), ("at", "timestamptz")]


class TransfersModel(ReadModel):
    name = "transfers"
    tables = ("transfers",)

    def ddl(self, schema: str) -> list[str]:
        body = ", ".join(f"{n} {'bigint' if k == 'int8' else k}" for n, k in COLUMNS)
        return [f"CREATE TABLE IF NOT EXISTS {schema}.transfers ({body}, PRIMARY KEY (account, position, kind))"]

    def new_batch(self) -> list[tuple]:
        return []

    def _row(self, batch, event: ProjectedEvent, account: str, kind: str, counterparty=None,
             status: str = "completed") -> None:
        batch.append((account, event.position, kind, str(event.payload["asset"]),
                      int(event.payload["amount"]), counterparty, status, event.time))

    def on_Account_Deposited(self, batch, event: ProjectedEvent) -> None:
        self._row(batch, event, account_of(event), "deposit")

    def on_Account_WithdrawalRequested(self, batch, event: ProjectedEvent) -> None:
        self._row(batch, event, account_of(event), "withdrawal", status="requested")

    def on_Account_Withdrawn(self, batch, event: ProjectedEvent) -> None:
        self._row(batch, event, account_of(event), "withdrawal", status="completed")

    def on_Account_WithdrawalRefunded(self, batch, event: ProjectedEvent) -> None:
        self._row(batch, event, account_of(event), "withdrawal", status="refunded")

    def on_Account_Transferred(self, batch, event: ProjectedEvent) -> None:
        source = account_of(event, "from_sub_account")
        target = account_of(event, "to_sub_account")
        self._row(batch, event, source, "transfer_out", counterparty=target)
        self._row(batch, event, target, "transfer_in", counterparty=source)

    def flush(self, conn: psycopg.Connection, schema: str, batch, stager: Stager) -> None:
        append_rows(conn, stager, f"{schema}.transfers", COLUMNS, batch)
