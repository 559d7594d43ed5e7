"""Order book levels per market, kept from order events; plus the deltas, for streaming.

Tables: `resting_orders` (L3: every resting order), `book_levels` (market, side, price -> size
and order count; the L2 snapshot) and `book_deltas` (each level's new absolute size after each
event that changed it, with that event's stream position, so a client can take the snapshot at position P and resume
with the deltas after P). Level changes are derived from each resting order's before/after, so
every event kind (place, fill, self-trade cancel, modify, cancel, expiry) is handled alike.
Invariant: a level with no size left is deleted.
"""

from __future__ import annotations

import psycopg

from projections.event import ProjectedEvent
from projections.model import ReadModel
from projections.models.keyed import append_rows, load_rows, upsert_rows
from projections.models.order_index import index_ddl, load_index, track, write_index
from projections.staging import Stager

LevelKey = tuple[str, str, int]  # market, side, price


class BookBatch:
    """The touched levels (absolute size, order count), and one delta per level per event."""

    def __init__(self) -> None:
        self.index: dict[tuple, dict | None] = {}
        self.levels: dict[LevelKey, list[int]] = {}  # key -> [size, orders, position]
        self.deltas: dict[tuple, tuple] = {}  # (market, position, side, price) -> row

    def change(self, order: dict, sign: int, position: int) -> None:
        key = (order["market"], order["side"], int(order["price"]))
        level = self.levels.setdefault(key, [0, 0, 0])
        level[0] += sign * int(order["size"])
        level[1] += sign
        level[2] = position
        self.deltas[(key[0], position, key[1], key[2])] = (key[0], position, key[1], key[2],
                                                           max(level[0], 0), max(level[1], 0))


class BookModel(ReadModel):
    name = "book"
    tables = ("book_levels", "book_deltas", "resting_orders")

    def ddl(self, schema: str) -> list[str]:
        return [
            index_ddl(schema),
            f"""CREATE TABLE IF NOT EXISTS {schema}.book_levels (
                market text NOT NULL, side text NOT NULL, price bigint NOT NULL,
                size bigint NOT NULL, orders int NOT NULL, position bigint NOT NULL,
                PRIMARY KEY (market, side, price))""",
            f"""CREATE TABLE IF NOT EXISTS {schema}.book_deltas (
                market text NOT NULL, position bigint NOT NULL, side text NOT NULL,
                price bigint NOT NULL, size bigint NOT NULL, orders int NOT NULL,
                PRIMARY KEY (market, position, side, price))""",
        ]

    def new_batch(self) -> BookBatch:
        return BookBatch()

    def load(self, conn, schema, batch: BookBatch, events) -> None:
        batch.index.update(load_index(conn, schema, events))
        # Dry-run the batch on a copy of the index to learn which levels it touches.
        scratch, keys = dict(batch.index), set()
        for event in events:
            for before, after in track(scratch, event):
                for order in (before, after):
                    if order is not None:
                        keys.add((order["market"], order["side"], int(order["price"])))
        rows = load_rows(conn, f"{schema}.book_levels", ("market", "side", "price"),
                         ["market", "side", "price", "size", "orders", "position"], keys)
        for key, row in rows.items():
            batch.levels[key] = [row["size"], row["orders"], row["position"]]

    def _apply(self, batch: BookBatch, event: ProjectedEvent) -> None:
        for before, after in track(batch.index, event):
            if before is not None:
                batch.change(before, -1, event.position)
            if after is not None:
                batch.change(after, +1, event.position)

    on_Market_OrderPlaced = _apply
    on_Market_OrderModified = _apply
    on_Market_OrdersCancelled = _apply
    on_Market_OrdersExpired = _apply

    def flush(self, conn: psycopg.Connection, schema: str, batch: BookBatch, stager: Stager) -> None:
        write_index(conn, schema, batch.index, stager)
        live = [{"market": m, "side": side, "price": price, "size": size, "orders": orders,
                 "position": position}
                for (m, side, price), (size, orders, position) in batch.levels.items() if size > 0]
        upsert_rows(conn, stager, f"{schema}.book_levels", LEVEL_COLUMNS, ("market", "side", "price"), live)
        gone = [key for key, (size, _, _) in batch.levels.items() if size <= 0]
        if gone:
            conn.execute(f"DELETE FROM {schema}.book_levels l USING unnest(%s::text[], %s::text[],"
                         " %s::int8[]) AS g(market, side, price) WHERE l.market = g.market"
                         " AND l.side = g.side AND l.price = g.price",
                         ([k[0] for k in gone], [k[1] for k in gone], [k[2] for k in gone]))
        append_rows(conn, stager, f"{schema}.book_deltas", DELTA_COLUMNS, batch.deltas.values())


LEVEL_COLUMNS = [("market", "text"), ("side", "text"), ("price", "int8"), ("size", "int8"),
                 ("orders", "int4"), ("position", "int8")]
DELTA_COLUMNS = [("market", "text"), ("position", "int8"), ("side", "text"), ("price", "int8"),
                 ("size", "int8"), ("orders", "int4")]
