"""Funding payments, liquidations (with the inputs that decided them) and the insurance fund.

From Account.FundingPaid, Account.Liquidated (every field that is not a column is kept in
`inputs`: mark and oracle prices, confidence, validity, reward, fee, ...) and the InsuranceFund
aggregate's Funded / InsuranceFundChanged (which carries the balance after).
"""

from __future__ import annotations

import json

import psycopg

from projections.event import ProjectedEvent
from projections.model import ReadModel
from projections.models.keyed import append_rows
from projections.models.shapes import account_of
from projections.staging import Stager

FUNDING_COLUMNS = [("account", "text"), ("market", "text"), ("position", "int8"), ("rate", "int8"),
                   ("amount", "int8"), ("position_size", "int8"), ("at", "timestamptz")]
LIQUIDATION_COLUMNS = [("account", "text"), ("market", "text"), ("position", "int8"),
                       ("size", "int8"), ("price", "int8"), ("margin_ratio_bps", "int8"),
                       ("maintenance_margin", "int8"), ("collateral_value", "int8"),
                       ("penalty", "int8"), ("liquidator", "text"), ("reason", "text"),
                       ("inputs", "text"), ("at", "timestamptz")]
INSURANCE_COLUMNS = [("position", "int8"), ("delta", "int8"), ("balance", "int8"),
                     ("reason", "text"), ("account", "text"), ("at", "timestamptz")]


def _body(columns) -> str:
    return ", ".join(f"{n} {'bigint' if k == 'int8' else k}" for n, k in columns)


class FundingPaymentsModel(ReadModel):
    name = "funding_payments"
    tables = ("funding_payments",)

    def ddl(self, schema: str) -> list[str]:
        return [f"CREATE TABLE IF NOT EXISTS {schema}.funding_payments ({_body(FUNDING_COLUMNS)},"
                " PRIMARY KEY (account, market, position))"]

    def new_batch(self) -> list[tuple]:
        return []

    def on_Account_FundingPaid(self, batch, event: ProjectedEvent) -> None:
        p = event.payload
        batch.append((account_of(event), str(p["market"]), event.position, int(p["rate"]),
                      int(p["amount"]), int(p.get("position_size") or 0), event.time))

    def flush(self, conn: psycopg.Connection, schema: str, batch, stager: Stager) -> None:
        append_rows(conn, stager, f"{schema}.funding_payments", FUNDING_COLUMNS, batch)


class LiquidationsModel(ReadModel):
    name = "liquidations"
    tables = ("liquidations",)

    def ddl(self, schema: str) -> list[str]:
        return [f"CREATE TABLE IF NOT EXISTS {schema}.liquidations ({_body(LIQUIDATION_COLUMNS)},"
                " PRIMARY KEY (account, market, position))"]

    def new_batch(self) -> list[tuple]:
        return []

    def on_Account_Liquidated(self, batch, event: ProjectedEvent) -> None:
        p = event.payload
        known = {"sub_account", "market", "size", "price", "margin_ratio_bps", "maintenance_margin",
                 "collateral_value", "penalty", "liquidator", "reason"}
        inputs = json.dumps({k: v for k, v in sorted(p.items()) if k not in known}, sort_keys=True)
        ratio = p.get("margin_ratio_bps")  # None when the account had no margin requirement left
        batch.append((account_of(event), str(p["market"]), event.position, int(p["size"]),
                      int(p["price"]), None if ratio is None else int(ratio), int(p["maintenance_margin"]),
                      int(p["collateral_value"]), int(p.get("penalty") or 0), p.get("liquidator"),
                      str(p.get("reason", "MaintenanceMarginBreached")), inputs, event.time))

    def flush(self, conn: psycopg.Connection, schema: str, batch, stager: Stager) -> None:
        append_rows(conn, stager, f"{schema}.liquidations", LIQUIDATION_COLUMNS, batch)


class InsuranceFundModel(ReadModel):
    name = "insurance_fund"
    tables = ("insurance_fund",)

    def ddl(self, schema: str) -> list[str]:
        return [f"CREATE TABLE IF NOT EXISTS {schema}.insurance_fund ({_body(INSURANCE_COLUMNS)},"
                " PRIMARY KEY (position))"]

    def new_batch(self) -> dict:
        return {"rows": [], "balance": None}

    def load(self, conn, schema, batch, events) -> None:
        row = conn.execute(f"SELECT balance FROM {schema}.insurance_fund ORDER BY position DESC LIMIT 1").fetchone()
        batch["balance"] = row[0] if row else 0

    def _change(self, batch, event: ProjectedEvent, delta: int, reason: str, account=None) -> None:
        balance = event.payload.get("balance")
        batch["balance"] = int(balance) if balance is not None else batch["balance"] + delta
        batch["rows"].append((event.position, delta, batch["balance"], reason, account, event.time))

    def on_InsuranceFund_InsuranceFundChanged(self, batch, event: ProjectedEvent) -> None:
        self._change(batch, event, int(event.payload["delta"]), str(event.payload.get("reason", "")),
                     event.payload.get("account"))

    def on_InsuranceFund_Funded(self, batch, event: ProjectedEvent) -> None:
        self._change(batch, event, int(event.payload["amount"]), "Funded")

    def flush(self, conn: psycopg.Connection, schema: str, batch, stager: Stager) -> None:
        append_rows(conn, stager, f"{schema}.insurance_fund", INSURANCE_COLUMNS, batch["rows"])
