"""The Timescale path against a real TimescaleDB (PGlite's WASM build): hypertables, candles as
real-time continuous aggregates, compression and retention policies; and the same queries give
the same answers as the plain-PostgreSQL path (range partitions + date_bin rollups)."""

from __future__ import annotations

import psycopg

from projections.flavour import Flavour, detect_flavour, supports_copy
from projections.model import apply_batch, create_tables
from projections.models.trades import TradesModel
from projections.registry import REGISTRY
from projections.sample import sample_events
from projections.timeseries import RESOLUTIONS, run_timescale_jobs

EVENTS = sample_events(orders=120, seed=9)
CANDLES = ("SELECT market, bucket, open, high, low, close, base_volume, quote_volume, trades"
           " FROM {schema}.candles_{res} ORDER BY market, bucket")


def project(conn, schema_prefix: str, flavour: Flavour, *, use_copy: bool, batch: int = 40) -> None:
    for name, model_class in REGISTRY.items():
        model, schema = model_class(flavour), f"{schema_prefix}_{name}"
        create_tables(conn, model, schema)
        for start in range(0, len(EVENTS), batch):
            apply_batch(conn, model, schema, EVENTS[start:start + batch], use_copy=use_copy)


def answers(conn, prefix: str) -> dict:
    result = {res: conn.execute(CANDLES.format(schema=f"{prefix}_trades", res=res)).fetchall()
              for res in RESOLUTIONS}
    result["trades"] = conn.execute(f"SELECT market, position, fill_index, price, size FROM"
                                    f" {prefix}_trades.trades ORDER BY position, fill_index").fetchall()
    result["positions"] = conn.execute(f"SELECT * FROM {prefix}_account_state.positions"
                                       " ORDER BY account, market").fetchall()
    return result


def test_timescale_and_plain_paths_give_the_same_answers(timescale_dsn, read_dsn):
    # Given the sample projected on real TimescaleDB (no COPY there: unnest staging instead)
    with psycopg.connect(timescale_dsn, autocommit=True) as ts:
        assert detect_flavour(ts) is Flavour.TIMESCALE
        assert not supports_copy(ts)
        for name in REGISTRY:
            ts.execute(f"DROP SCHEMA IF EXISTS tsq_{name} CASCADE")
        project(ts, "tsq", Flavour.TIMESCALE, use_copy=False)
        # Then trades is a hypertable and every candle resolution a real-time continuous aggregate
        assert ts.execute("SELECT count(*) FROM timescaledb_information.hypertables WHERE"
                          " hypertable_schema = 'tsq_trades'").fetchone()[0] >= 1
        caggs = ts.execute("SELECT view_name, materialized_only FROM"
                           " timescaledb_information.continuous_aggregates WHERE"
                           " view_schema = 'tsq_trades' ORDER BY view_name").fetchall()
        assert {name for name, _ in caggs} == {f"candles_{res}" for res in RESOLUTIONS}
        assert not any(materialized_only for _, materialized_only in caggs)
        real_time = answers(ts, "tsq")
        # And compression + retention policies exist and run (no background workers: run_job)
        assert run_timescale_jobs(ts, "tsq_trades") >= 2
        for res in RESOLUTIONS:
            ts.execute(f"CALL refresh_continuous_aggregate('tsq_trades.candles_{res}', NULL, NULL)")
        materialized = answers(ts, "tsq")
    # When the same events are projected on plain PostgreSQL
    with psycopg.connect(read_dsn, autocommit=True) as plain:
        assert detect_flavour(plain) is Flavour.PLAIN
        project(plain, "pq", Flavour.PLAIN, use_copy=True, batch=25)
        plain_answers = answers(plain, "pq")
    # Then the same queries give the same answers, before and after materialisation
    assert plain_answers["1m"], "the sample must trade"
    for key in plain_answers:
        assert real_time[key] == plain_answers[key], key
        assert materialized[key] == plain_answers[key], key


def test_plain_trades_are_range_partitioned_by_day(read_dsn):
    with psycopg.connect(read_dsn, autocommit=True) as conn:
        model = TradesModel(Flavour.PLAIN)
        create_tables(conn, model, "part_trades")
        apply_batch(conn, model, "part_trades", EVENTS)
        kind = conn.execute("SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid ="
                            " c.relnamespace WHERE n.nspname = 'part_trades' AND c.relname = 'trades'"
                            ).fetchone()[0]
        partitions = conn.execute("SELECT count(*) FROM pg_inherits WHERE inhparent ="
                                  " 'part_trades.trades'::regclass").fetchone()[0]
    assert kind == "p" and partitions >= 1
