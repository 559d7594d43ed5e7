"""A small per-model index of resting orders (market, order_id -> account, side, price, size).

`OrderModified` names only the order id; models that need the order's side or account (the
book, trades) keep this index of orders that rested, from the same events, in their own schema.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from projections.event import ProjectedEvent
from projections.models.keyed import load_rows, stage_upsert
from projections.models.shapes import placement_of
from projections.staging import Stager

COLUMNS = [("market", "text"), ("order_id", "text"), ("account", "text"), ("side", "text"),
           ("price", "int8"), ("size", "int8")]
KEY = ("market", "order_id")


def index_ddl(schema: str) -> str:
    return (f"CREATE TABLE IF NOT EXISTS {schema}.resting_orders (market text NOT NULL,"
            " order_id text NOT NULL, account text NOT NULL, side text NOT NULL,"
            " price bigint NOT NULL, size bigint NOT NULL, PRIMARY KEY (market, order_id))")


def touched_keys(events: Sequence[ProjectedEvent]) -> set[tuple[str, str]]:
    """The resting orders a batch may read or change."""
    keys = set()
    for event in events:
        payload = event.payload
        if event.type == "OrderModified":
            keys.add((event.key, str(payload["order_id"])))
        placement = payload.get("placement") if event.type == "OrderModified" else payload
        for fill in (placement or {}).get("fills") or ():
            keys.add((event.key, str(fill["maker_order_id"])))
        for cancelled in (placement or {}).get("stp_cancelled") or payload.get("cancelled") or ():
            keys.add((event.key, str(cancelled["order_id"])))
    return keys


def load_index(conn: psycopg.Connection, schema: str, events) -> dict[tuple, dict]:
    return load_rows(conn, f"{schema}.resting_orders", KEY, [c for c, _ in COLUMNS], touched_keys(events))


def write_index(conn: psycopg.Connection, schema: str, index: dict[tuple, dict | None],
                stager: Stager) -> None:
    """Upsert live entries; delete those set to None (filled or cancelled)."""
    statements, params = index_changes(schema, index, stager)
    for statement, values in zip(statements, params):
        conn.execute(statement, values)


def index_changes(schema: str, index: dict[tuple, dict | None],
                  stager: Stager) -> tuple[list[str], list[tuple]]:
    """Stage the live entries; return the statements writing the index (upsert of live entries,
    delete of those set to None) and each one's parameters. They touch distinct keys, so they
    may run as data-modifying CTEs of one statement."""
    statements, params = [], []
    live = [row for row in index.values() if row is not None]
    if live:
        statements.append(stage_upsert(stager, f"{schema}.resting_orders", COLUMNS, KEY, live))
        params.append(())
    gone = [key for key, row in index.items() if row is None]
    if gone:
        statements.append(f"DELETE FROM {schema}.resting_orders r USING unnest(%s::text[], %s::text[])"
                          " AS g(market, order_id) WHERE r.market = g.market AND r.order_id = g.order_id")
        params.append(([m for m, _ in gone], [o for _, o in gone]))
    return statements, params


def taker_of(event: ProjectedEvent, index: dict[tuple, dict | None]) -> dict | None:
    """The order that took liquidity: OrderPlaced's `order`, or the modified order's entry."""
    if event.type == "OrderPlaced":
        return event.payload["order"]
    entry = index.get((event.key, str(event.payload["order_id"])))
    return None if entry is None else {**entry, "order_id": event.payload["order_id"]}


Change = tuple[dict | None, dict | None]  # (before, after) of one resting order


def track(index: dict[tuple, dict | None], event: ProjectedEvent) -> list[Change]:
    """Apply one order event to the index; returns each resting order's (before, after)."""
    market, payload, changes = event.key, event.payload, []

    def put(order_id, after: dict | None) -> None:
        key = (market, str(order_id))
        before = index.get(key)
        if before is None and after is None:
            return
        index[key] = after
        changes.append((before, after))

    if event.type in ("OrdersCancelled", "OrdersExpired"):
        for cancelled in payload.get("cancelled") or ():
            put(cancelled["order_id"], None)
        return changes
    taker = taker_of(event, index)
    if event.type == "OrderModified":
        before = index.get((market, str(payload["order_id"])))
        if payload.get("kept_priority"):
            if before is not None:
                put(payload["order_id"], {**before, "size": int(payload["new_size"])})
            return changes
        put(payload["order_id"], None)
    placement = placement_of(event) or {}
    for fill in placement.get("fills") or ():
        maker = index.get((market, str(fill["maker_order_id"])))
        if maker is not None:
            remaining = int(fill.get("maker_remaining", 0))
            put(fill["maker_order_id"], {**maker, "size": remaining} if remaining else None)
    for cancelled in placement.get("stp_cancelled") or ():
        put(cancelled["order_id"], None)
    rested = int(placement.get("rested_size") or 0)
    if rested and taker is not None:
        put(taker["order_id"], {"market": market, "order_id": str(taker["order_id"]),
                                "account": str(taker["account"]), "side": str(taker["side"]),
                                "price": int(placement["rested_price"]), "size": rested})
    return changes
