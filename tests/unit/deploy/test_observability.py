"""Metrics, health/readiness and JSON logs as an operator sees them: scraped, probed, read."""

import asyncio
import io
import json
import logging

import httpx
import pytest
from fastapi import FastAPI

from observability.asgi import RouteTimingMiddleware
from observability.health import start_health_server
from observability.logs import configure_logging, log_context
from observability.metrics import (
    METRICS_BY_SERVICE, EngineMetrics, PriceFeedMetrics, ProjectorMetrics, ReadApiMetrics,
    RelayMetrics, SettlerMetrics,
)
from tests.probes import get
from tests.probes import registry_samples as samples


def test_the_engine_counts_commands_by_outcome_and_reason_and_times_commits():
    metrics = EngineMetrics()
    # Three commands answered, two accepted, one rejected for margin; a batch of 3 committed
    metrics.command_answered(True)
    metrics.command_answered(True)
    metrics.command_answered(False, "InsufficientMargin")
    metrics.batch_committed(size=3, seconds=0.004, position=42)
    found = samples(metrics.registry)
    assert found[("qd_commands_total", (("outcome", "accepted"), ("reason", "")))] == 2
    assert found[("qd_commands_total", (("outcome", "rejected"), ("reason", "InsufficientMargin")))] == 1
    assert found[("qd_engine_batch_size_count", ())] == 1
    assert found[("qd_engine_commit_seconds_sum", ())] == pytest.approx(0.004)
    assert found[("qd_engine_committed_position", ())] == 42
    assert found[("qd_build_info", (("service", "engine"), ("version", "dev")))] == 1


def test_lags_are_measured_per_projector_and_never_negative():
    projector = ProjectorMetrics()
    projector.batch_applied("trades", 100, position=900, head_position=1000, lag_seconds=0.05)
    projector.batch_applied("candles", 10, position=1000, head_position=990)
    relay = RelayMetrics()
    relay.published_through(position=500, count=500, store_last_position=520)
    found = {**samples(projector.registry), **samples(relay.registry)}
    assert found[("qd_projection_lag_events", (("projector", "trades"),))] == 100
    assert found[("qd_projection_lag_events", (("projector", "candles"),))] == 0
    assert found[("qd_projection_events_total", (("projector", "trades"),))] == 100
    assert found[("qd_relay_lag_events", ())] == 20


def test_settlement_and_oracle_metrics():
    settler, feed = SettlerMetrics(), PriceFeedMetrics()
    settler.batch_settled(accounts=69, landed=True)
    settler.batch_settled(accounts=3, landed=False)
    feed.oracle_checked("SOL-PERP", valid=False, age_seconds=31.0)
    found = {**samples(settler.registry), **samples(feed.registry)}
    assert found[("qd_settlement_batches_total", (("outcome", "landed"),))] == 1
    assert found[("qd_settlement_batches_total", (("outcome", "failed"),))] == 1
    assert found[("qd_oracle_valid", (("market", "SOL-PERP"),))] == 0


def test_every_service_has_its_own_registry():
    # Two services in one process (as in tests) never collide on metric names
    registries = [cls().registry for cls in METRICS_BY_SERVICE.values()]
    assert len({id(registry) for registry in registries}) == len(METRICS_BY_SERVICE)
    EngineMetrics(), EngineMetrics()


def test_the_health_server_serves_metrics_liveness_and_named_readiness():
    metrics = EngineMetrics()
    metrics.command_answered(True)
    health = start_health_server(0, metrics.registry, host="127.0.0.1")
    try:
        base = f"http://127.0.0.1:{health.port}"
        # Alive from the start; ready only once every check passes
        assert get(base + "/healthz") == (200, b'{"alive": true}')
        connected = {"nats": False}
        health.readiness.add("nats", lambda: connected["nats"])
        health.readiness.add("store", lambda: True)
        status, body = get(base + "/readyz")
        assert status == 503 and json.loads(body) == {"ready": False, "checks": {"nats": False, "store": True}}
        connected["nats"] = True
        assert get(base + "/readyz")[0] == 200
        # A check that raises is a failing check, with the error shown
        health.readiness.add("broken", lambda: 1 / 0)
        status, body = get(base + "/readyz")
        assert status == 503 and "ZeroDivisionError" in json.loads(body)["checks"]["broken"]
        # Prometheus text on /metrics; a clear 404 elsewhere
        status, body = get(base + "/metrics")
        assert status == 200 and b'qd_commands_total{outcome="accepted",reason=""} 1.0' in body
        assert get(base + "/nope")[0] == 404
    finally:
        health.close()


async def test_api_latency_is_labelled_by_route_template_not_by_raw_path():
    metrics = ReadApiMetrics()
    app = FastAPI()

    @app.get("/markets/{market}/trades")
    async def trades(market: str):
        return {"market": market}

    app.add_middleware(RouteTimingMiddleware, metrics=metrics)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        for market in ("SOL-PERP", "BTC-PERP"):
            assert (await client.get(f"/markets/{market}/trades")).status_code == 200
        assert (await client.get("/no/such/route")).status_code == 404
    found = samples(metrics.registry)
    route = (("method", "GET"), ("route", "/markets/{market}/trades"), ("status", "200"))
    assert found[("qd_api_request_seconds_count", route)] == 2
    assert found[("qd_api_request_seconds_count", (("method", "GET"), ("route", "unmatched"), ("status", "404")))] == 1


async def test_log_lines_are_json_with_command_account_and_sequence():
    stream = io.StringIO()
    handler = configure_logging("engine", "INFO", stream=stream)
    log = logging.getLogger("tests.observability")  # not a service's logger: nothing else writes here
    try:
        # Context set around the work, sequence given on the line itself
        with log_context(command_id="c-1", account="Alice"):
            log.info("command applied", extra={"event_seq": 7})
        log.info("no context here")

        # Concurrent tasks keep their own context
        async def work(command_id: str) -> None:
            with log_context(command_id=command_id):
                await asyncio.sleep(0.01)
                log.warning("done")

        await asyncio.gather(work("c-2"), work("c-3"))
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("failed", extra={"position": 9})
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    lines = [line for line in lines if line["logger"] == "tests.observability"]
    assert lines[0]["service"] == "engine"
    assert (lines[0]["command_id"], lines[0]["account"], lines[0]["event_seq"]) == ("c-1", "Alice", 7)
    assert "command_id" not in lines[1]
    assert sorted(line["command_id"] for line in lines[2:4]) == ["c-2", "c-3"]
    assert lines[4]["position"] == 9 and "RuntimeError: boom" in lines[4]["exc_info"]
    assert lines[0]["ts"].endswith("Z")


def test_unknown_log_fields_are_refused():
    with pytest.raises(ValueError, match="unknown log fields"):
        with log_context(cmd="x"):
            pass
