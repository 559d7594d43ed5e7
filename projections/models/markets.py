"""Markets: parameters and status, last trade price, last funding; plus the funding-rate history.

Open interest and 24 h volume are not stored here: the read API derives them from the
account-state and trades read models at query time, so no two projectors own one number.
Parameters are kept as a JSON object (sorted keys) with the most-used ones also as columns.
"""

from __future__ import annotations

import json

import psycopg

from projections.event import ProjectedEvent
from projections.model import ReadModel
from projections.models.keyed import append_rows, load_rows, upsert_rows
from projections.models.shapes import placement_of
from projections.staging import Stager

COLUMNS = [("market", "text"), ("status", "text"), ("tick_size", "int8"), ("lot_size", "int8"),
           ("min_size", "int8"), ("max_leverage", "int8"), ("initial_margin_bps", "int8"),
           ("maintenance_margin_bps", "int8"), ("maker_fee_bps", "int8"), ("taker_fee_bps", "int8"),
           ("parameters", "text"), ("last_price", "int8"), ("last_trade_at", "timestamptz"),
           ("funding_rate", "int8"), ("funding_at", "timestamptz"), ("mark_price", "int8"),
           ("oracle_price", "int8"), ("created_at", "timestamptz"),
           ("position", "int8")]
RATE_COLUMNS = [("market", "text"), ("position", "int8"), ("rate", "int8"), ("mark_price", "int8"),
                ("index_price", "int8"), ("at", "timestamptz")]
PARAMETER_ALIASES = {
    "tick_size": ("tick_size",), "lot_size": ("lot_size", "step_size"),
    "min_size": ("min_size", "min_order_size"), "max_leverage": ("max_leverage",),
    "initial_margin_bps": ("initial_margin_bps", "imr_bps", "initial_margin_ratio"),
    "maintenance_margin_bps": ("maintenance_margin_bps", "mmr_bps", "maintenance_margin_ratio"),
    "maker_fee_bps": ("maker_fee_bps", "maker_fee"), "taker_fee_bps": ("taker_fee_bps", "taker_fee"),
}


class MarketsModel(ReadModel):
    name = "markets"
    tables = ("markets", "funding_rates")

    def ddl(self, schema: str) -> list[str]:
        body = ", ".join(f"{n} {'bigint' if k == 'int8' else k}" for n, k in COLUMNS)
        rates = ", ".join(f"{n} {'bigint' if k == 'int8' else k}" for n, k in RATE_COLUMNS)
        return [f"CREATE TABLE IF NOT EXISTS {schema}.markets ({body}, PRIMARY KEY (market))",
                f"CREATE TABLE IF NOT EXISTS {schema}.funding_rates ({rates}, PRIMARY KEY (market, position))"]

    def new_batch(self) -> dict:
        return {"markets": {}, "rates": []}

    def load(self, conn, schema, batch, events) -> None:
        keys = {(event.key,) for event in events}
        batch["markets"].update(load_rows(conn, f"{schema}.markets", ("market",),
                                          [c for c, _ in COLUMNS], keys))

    def _market(self, batch, event: ProjectedEvent) -> dict:
        market = event.key
        row = batch["markets"].get((market,))
        if row is None:
            row = {name: None for name, _ in COLUMNS}
            row.update(market=market, status="active", parameters="{}", created_at=event.time)
            batch["markets"][(market,)] = row
        row["position"] = event.position
        return row

    def on_Market_Created(self, batch, event: ProjectedEvent) -> None:
        row = self._market(batch, event)
        row.update(created_at=event.time, status="active")
        self._set_parameters(row, event.payload["params"])

    def on_Market_ParametersChanged(self, batch, event: ProjectedEvent) -> None:
        self._set_parameters(self._market(batch, event), event.payload["changes"])

    def on_Market_StatusChanged(self, batch, event: ProjectedEvent) -> None:
        self._market(batch, event)["status"] = str(event.payload["status"])

    def on_Market_OrderPlaced(self, batch, event: ProjectedEvent) -> None:
        fills = (placement_of(event) or {}).get("fills")
        if fills:
            row = self._market(batch, event)
            row.update(last_price=int(fills[-1]["price"]), last_trade_at=event.time)

    on_Market_OrderModified = on_Market_OrderPlaced

    def on_Market_MarkPriceUpdated(self, batch, event: ProjectedEvent) -> None:
        self._market(batch, event).update(mark_price=int(event.payload["mark_price"]),
                                          oracle_price=int(event.payload["oracle_price"]))

    def on_Market_CircuitBreakerTripped(self, batch, event: ProjectedEvent) -> None:
        self._market(batch, event)["status"] = "paused"

    def on_Market_CircuitBreakerReset(self, batch, event: ProjectedEvent) -> None:
        self._market(batch, event)["status"] = str(event.payload["status"])

    def on_Market_FundingRateUpdated(self, batch, event: ProjectedEvent) -> None:
        row = self._market(batch, event)
        row.update(funding_rate=int(event.payload["rate"]), funding_at=event.time)
        batch["rates"].append((row["market"], event.position, int(event.payload["rate"]),
                               event.get("mark_price"), event.get("index_price"), event.time))

    @staticmethod
    def _set_parameters(row: dict, payload: dict) -> None:
        parameters = {**json.loads(row["parameters"] or "{}"), **payload}
        row["parameters"] = json.dumps(parameters, sort_keys=True, default=str)
        for column, names in PARAMETER_ALIASES.items():
            for name in names:
                if isinstance(parameters.get(name), int):
                    row[column] = parameters[name]
                    break

    def flush(self, conn: psycopg.Connection, schema: str, batch, stager: Stager) -> None:
        upsert_rows(conn, stager, f"{schema}.markets", COLUMNS, ("market",), batch["markets"].values())
        append_rows(conn, stager, f"{schema}.funding_rates", RATE_COLUMNS, batch["rates"])
