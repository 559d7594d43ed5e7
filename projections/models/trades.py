"""Trades and OHLCV candles (1m 5m 15m 1h 4h 1d), from the fills inside OrderPlaced events.

Tables: `trades` (one row per fill; partitioned by time) and `candles_<res>` per resolution.
With TimescaleDB the candles are continuous aggregates over `trades` with real-time aggregation
(`materialized_only = false`), so un-materialised buckets are computed from raw trades; without
it this projector rolls each batch up with `date_bin()` and merges it into candle tables.
Invariant: open/close follow stream position (first/last trade by position in the bucket).
"""

from __future__ import annotations

import psycopg

from projections.event import ProjectedEvent
from projections.flavour import Flavour
from projections.model import ReadModel
from projections.models.order_index import index_ddl, index_changes, load_index, taker_of, track
from projections.models.shapes import BASE_SCALE, has_fills, placement_of
from projections.staging import Stager
from projections.timeseries import (BUCKET_ORIGIN, RESOLUTIONS, DailyPartitions, time_table,
                                    timescale_policies)

TRADE_COLUMNS = [
    ("market", "text"), ("trade_id", "int8"), ("position", "int8"), ("fill_index", "int4"),
    ("at", "timestamptz"),
    ("at_ns", "int8"), ("price", "int8"), ("size", "int8"), ("quote", "int8"),
    ("taker_side", "text"), ("taker_order_id", "text"), ("maker_order_id", "text"),
    ("taker_account", "text"), ("maker_account", "text"),
]
# trade_id = position * 1e6 + fill_index: unique, ordered like the stream (open/close, cursors).
TRADE_ID_SCALE = 1_000_000
TRADE_BODY = """market text NOT NULL, trade_id bigint NOT NULL, position bigint NOT NULL,
    fill_index int NOT NULL,
    at timestamptz NOT NULL, at_ns bigint NOT NULL, price bigint NOT NULL, size bigint NOT NULL,
    quote bigint NOT NULL, taker_side text NOT NULL, taker_order_id text NOT NULL,
    maker_order_id text NOT NULL, taker_account text NOT NULL, maker_account text NOT NULL,
    PRIMARY KEY (at, position, fill_index)"""
CANDLE_COLUMNS = "market, bucket, open, high, low, close, base_volume, quote_volume, trades"


class TradesModel(ReadModel):
    name = "trades"
    tables = ("trades", *(f"candles_{resolution}" for resolution in RESOLUTIONS))
    # `resting_orders` is private (it names the taker of a modify that traded): not served.

    def __init__(self, flavour: Flavour = Flavour.PLAIN) -> None:
        super().__init__(flavour)
        self.partitions = DailyPartitions()

    def forget_created_partitions(self) -> None:
        """After a rolled-back batch: the daily partitions it created may be gone with it."""
        self.partitions = DailyPartitions()

    def ddl(self, schema: str) -> list[str]:
        statements = [index_ddl(schema), *time_table(schema, "trades", TRADE_BODY, self.flavour)]
        statements.append(f"CREATE INDEX IF NOT EXISTS trades_market_trade_id"
                          f" ON {schema}.trades (market, trade_id DESC)")
        if self.flavour is Flavour.TIMESCALE:
            statements += timescale_policies(schema, "trades", "market", "at DESC, trade_id DESC")
            statements += [self._continuous_aggregate(schema, res, width)
                           for res, width in RESOLUTIONS.items()]
        else:
            statements += [
                f"""CREATE TABLE IF NOT EXISTS {schema}.candles_{res} (
                    market text NOT NULL, bucket timestamptz NOT NULL, open bigint NOT NULL,
                    high bigint NOT NULL, low bigint NOT NULL, close bigint NOT NULL,
                    base_volume numeric NOT NULL, quote_volume numeric NOT NULL,
                    trades bigint NOT NULL, PRIMARY KEY (market, bucket))"""
                for res in RESOLUTIONS]
        return statements

    @staticmethod
    def _continuous_aggregate(schema: str, resolution: str, width: str) -> str:
        return f"""CREATE MATERIALIZED VIEW IF NOT EXISTS {schema}.candles_{resolution}
            WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
            SELECT market, time_bucket(INTERVAL '{width}', at) AS bucket,
                   first(price, trade_id) AS open, max(price) AS high, min(price) AS low,
                   last(price, trade_id) AS close, sum(size) AS base_volume,
                   sum(quote) AS quote_volume, count(*) AS trades
            FROM {schema}.trades GROUP BY market, time_bucket(INTERVAL '{width}', at)
            WITH NO DATA"""

    def new_batch(self) -> dict:
        return {"index": {}, "rows": []}

    def load(self, conn, schema, batch, events) -> None:
        batch["index"].update(load_index(conn, schema, events))

    def on_Market_OrderPlaced(self, batch: dict, event: ProjectedEvent) -> None:
        taker = taker_of(event, batch["index"])
        track(batch["index"], event)
        if taker is None:
            if has_fills(event):  # a modify that traded, of an order we never saw rest
                raise LookupError(f"order {event.payload.get('order_id')} is not a resting order")
            return
        # The COPY rows straight from the payload (no per-fill objects): the hot path.
        fills = (placement_of(event) or {}).get("fills")
        if not fills:
            return
        market, position, at, rows = event.key, event.position, event.at, batch["rows"]
        time, first_trade_id = event.time, position * TRADE_ID_SCALE
        taker_order_id, taker_account = str(taker["order_id"]), str(taker["account"])
        taker_side = str(taker["side"])
        for index, fill in enumerate(fills):
            price, size = int(fill["price"]), int(fill["size"])
            notional = fill.get("notional")
            rows.append((market, first_trade_id + index, position, index, time, at, price, size,
                         price * size // BASE_SCALE if notional is None else int(notional),
                         taker_side, taker_order_id, str(fill["maker_order_id"]),
                         taker_account, str(fill["maker_account"])))

    on_Market_OrderModified = on_Market_OrderPlaced  # a re-placed order may trade too

    def on_Market_OrdersCancelled(self, batch: dict, event: ProjectedEvent) -> None:
        track(batch["index"], event)

    on_Market_OrdersExpired = on_Market_OrdersCancelled

    def flush(self, conn: psycopg.Connection, schema: str, batch: dict, stager: Stager) -> None:
        # One statement after the COPYs: the resting-order index, the trades and (plain
        # PostgreSQL) the six rollups, as data-modifying CTEs (distinct rows each).
        statements, params = index_changes(schema, batch["index"], stager)
        rows = batch["rows"]
        if rows:
            if self.flavour is Flavour.PLAIN:
                self.partitions.ensure(conn, schema, "trades", {row[4] for row in rows})
            stager.stage("stage_trades", TRADE_COLUMNS, rows)
            names = ", ".join(column for column, _ in TRADE_COLUMNS)
            statements.append(f"INSERT INTO {schema}.trades ({names}) SELECT {names}"
                              " FROM stage_trades ON CONFLICT DO NOTHING")
            params.append(())
            if self.flavour is Flavour.PLAIN:  # with Timescale: continuous aggregates
                statements += [self._rollup(schema, res, width) for res, width in RESOLUTIONS.items()]
                params += [()] * len(RESOLUTIONS)
        if statements:
            ctes = ", ".join(f"w{number} AS ({statement})" for number, statement in enumerate(statements))
            conn.execute(f"WITH {ctes} SELECT 1", [value for values in params for value in values])

    @staticmethod
    def _rollup(schema: str, resolution: str, width: str) -> str:
        # The batch is later in the stream than everything stored: its close wins, our open stays.
        return f"""INSERT INTO {schema}.candles_{resolution} ({CANDLE_COLUMNS})
            SELECT market, date_bin(INTERVAL '{width}', at, TIMESTAMPTZ '{BUCKET_ORIGIN}'),
                   (array_agg(price ORDER BY trade_id))[1], max(price), min(price),
                   (array_agg(price ORDER BY trade_id DESC))[1],
                   sum(size), sum(quote), count(*)
            FROM stage_trades GROUP BY 1, 2
            ON CONFLICT (market, bucket) DO UPDATE SET
                high = greatest(candles_{resolution}.high, excluded.high),
                low = least(candles_{resolution}.low, excluded.low),
                close = excluded.close,
                base_volume = candles_{resolution}.base_volume + excluded.base_volume,
                quote_volume = candles_{resolution}.quote_volume + excluded.quote_volume,
                trades = candles_{resolution}.trades + excluded.trades"""
