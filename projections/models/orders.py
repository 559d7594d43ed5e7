"""Orders, open and history: one row per order with its current status and filled size.

Status: open (resting, nothing filled), partially_filled (resting), filled, cancelled, expired,
rejected. Open orders are the rows with status open/partially_filled. A rejected PlaceOrder
(Account.CommandRejected) gets a row under the id `rejected:<position>`.
"""

from __future__ import annotations

import psycopg

from projections.event import ProjectedEvent
from projections.model import ReadModel
from projections.models.keyed import load_rows, upsert_rows
from projections.models.order_index import touched_keys
from projections.models.shapes import account_of, placement_of
from projections.staging import Stager

COLUMNS = [
    ("market", "text"), ("order_id", "text"), ("account", "text"), ("client_order_id", "text"),
    ("side", "text"), ("order_type", "text"), ("time_in_force", "text"), ("price", "int8"),
    ("size", "int8"), ("filled", "int8"), ("remaining", "int8"), ("status", "text"),
    ("reason", "text"), ("reduce_only", "bool"), ("placed_at", "timestamptz"),
    ("updated_at", "timestamptz"), ("placed_position", "int8"), ("position", "int8"),
]
KEY = ("market", "order_id")
OPEN = ("open", "partially_filled")


class OrdersModel(ReadModel):
    name = "orders"
    tables = ("orders",)

    def ddl(self, schema: str) -> list[str]:
        body = ", ".join(f"{name} {'bigint' if kind == 'int8' else 'boolean' if kind == 'bool' else kind}"
                         for name, kind in COLUMNS)
        return [
            f"CREATE TABLE IF NOT EXISTS {schema}.orders ({body}, PRIMARY KEY (market, order_id))",
            f"CREATE INDEX IF NOT EXISTS orders_by_account ON {schema}.orders (account, position DESC)",
            f"CREATE INDEX IF NOT EXISTS orders_open ON {schema}.orders (account, market)"
            " WHERE status IN ('open', 'partially_filled')",
        ]

    def new_batch(self) -> dict[tuple, dict]:
        return {}

    def load(self, conn, schema, batch, events) -> None:
        batch.update(load_rows(conn, f"{schema}.orders", KEY, [c for c, _ in COLUMNS],
                               touched_keys(events)))

    def on_Market_OrderPlaced(self, batch: dict, event: ProjectedEvent) -> None:
        order = event.payload["order"]
        self._placement(batch, event)
        self._set_taker(batch, event, {
            "market": event.key, "order_id": str(order["order_id"]), "account": str(order["account"]),
            "client_order_id": order.get("client_order_id"), "side": str(order["side"]),
            "order_type": str(order.get("order_type", "limit")),
            "time_in_force": str(order.get("time_in_force", "gtc")), "price": int(order["price"]),
            "size": int(order["size"]), "filled": 0, "remaining": 0, "status": "open",
            "reason": None, "reduce_only": bool(order.get("reduce_only")),
            "placed_at": event.time, "updated_at": event.time,
            "placed_position": event.position, "position": event.position})

    def on_Market_OrderModified(self, batch: dict, event: ProjectedEvent) -> None:
        payload = event.payload
        order = batch.get((event.key, str(payload["order_id"])))
        if order is None:
            return
        if payload.get("kept_priority"):
            order["remaining"] = int(payload["new_size"])
            order["size"] = order["filled"] + order["remaining"]
            self._touch(order, event)
            return
        self._placement(batch, event)
        self._set_taker(batch, event, {**order, "price": int(payload["new_price"]),
                                       "size": order["filled"] + int(payload["new_size"])})

    def on_Market_OrdersCancelled(self, batch: dict, event: ProjectedEvent) -> None:
        for cancelled in event.payload.get("cancelled") or ():
            self._close(batch, event, (event.key, str(cancelled["order_id"])), "cancelled",
                        str(event.payload.get("reason") or "Cancelled"))

    def on_Market_OrdersExpired(self, batch: dict, event: ProjectedEvent) -> None:
        for cancelled in event.payload.get("cancelled") or ():
            self._close(batch, event, (event.key, str(cancelled["order_id"])), "expired", "Expired")

    def on_Account_CommandRejected(self, batch: dict, event: ProjectedEvent) -> None:
        payload = event.payload
        if payload.get("command") not in ("PlaceOrder", "place_order"):
            return
        key = (str(payload.get("market") or "_"), f"rejected:{event.position}")
        batch[key] = {name: None for name, _ in COLUMNS} | {
            "market": key[0], "order_id": key[1], "account": account_of(event),
            "client_order_id": payload.get("client_order_id"), "filled": 0, "remaining": 0,
            "status": "rejected", "reason": str(payload.get("reason")), "reduce_only": False,
            "placed_at": event.time, "updated_at": event.time,
            "placed_position": event.position, "position": event.position}

    def _placement(self, batch: dict, event: ProjectedEvent) -> None:
        """Makers filled and self-trade cancels of a placement."""
        placement = placement_of(event) or {}
        for fill in placement.get("fills") or ():
            maker = batch.get((event.key, str(fill["maker_order_id"])))
            if maker is not None:
                remaining = int(fill.get("maker_remaining", 0))
                maker.update(filled=maker["filled"] + int(fill["size"]), remaining=remaining,
                             status="filled" if remaining == 0 else "partially_filled")
                self._touch(maker, event)
        for cancelled in placement.get("stp_cancelled") or ():
            self._close(batch, event, (event.key, str(cancelled["order_id"])), "cancelled",
                        "SelfTradePrevented")

    def _set_taker(self, batch: dict, event: ProjectedEvent, row: dict) -> None:
        placement = placement_of(event) or {}
        filled = sum(int(fill["size"]) for fill in placement.get("fills") or ())
        rested = int(placement.get("rested_size") or 0)
        row.update(filled=row["filled"] + filled if event.type == "OrderModified" else filled,
                   remaining=rested, reason=placement.get("cancel_reason"))
        if rested:
            row["status"] = "partially_filled" if row["filled"] else "open"
            row["price"] = int(placement.get("rested_price") or row["price"])
        else:
            row["status"] = "filled" if row["filled"] >= row["size"] else "cancelled"
        self._touch(row, event)
        batch[(row["market"], row["order_id"])] = row

    @staticmethod
    def _touch(order: dict, event: ProjectedEvent) -> None:
        order["updated_at"], order["position"] = event.time, event.position

    def _close(self, batch: dict, event: ProjectedEvent, key: tuple, status: str, reason: str) -> None:
        order = batch.get(key)
        if order is not None and order["status"] in OPEN:
            order.update(status=status, reason=reason, remaining=0)
            self._touch(order, event)

    def flush(self, conn: psycopg.Connection, schema: str, batch: dict, stager: Stager) -> None:
        upsert_rows(conn, stager, f"{schema}.orders", COLUMNS, KEY, batch.values())
