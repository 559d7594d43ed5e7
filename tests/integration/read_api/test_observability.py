"""The read API process as an operator sees it: latency by route template on /metrics, health
and readiness probed on the metrics port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from prometheus_client.parser import text_string_to_metric_families

from tests.probes import free_port, get


def request_counts(metrics_port: int) -> dict[tuple[str, str], float]:
    """qd_api_request_seconds_count by (route, status), as scraped."""
    _, body = get(f"http://127.0.0.1:{metrics_port}/metrics")
    return {(s.labels["route"], s.labels["status"]): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples
            if s.name == "qd_api_request_seconds_count"}


def ready(metrics_port: int) -> bool:
    try:
        return get(f"http://127.0.0.1:{metrics_port}/readyz")[0] == 200
    except OSError:  # not listening yet
        return False


def test_the_read_api_process_times_each_route_and_serves_health(read_store_dsn, sample):
    # Given the read API running as a process with a metrics port
    port, metrics_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "read_api", "--pg", read_store_dsn, "--port", str(port),
         "--metrics-port", str(metrics_port), "--http", "h11"],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not ready(metrics_port):
            assert process.poll() is None and time.monotonic() < deadline, "read API never became ready"
            time.sleep(0.1)
        # When a dashboard asks for two markets' trades, the market list, and a path that does not exist
        market = json.loads(get(f"http://127.0.0.1:{port}/v1/markets")[1])[0]["market"]
        for _ in range(2):
            assert get(f"http://127.0.0.1:{port}/v1/markets/{market}/trades")[0] == 200
        assert get(f"http://127.0.0.1:{port}/v1/nowhere")[0] == 404
        # Then /metrics has one latency series per route template, never per concrete path
        # (a request is observed just after its last byte is sent: wait for the fourth)
        while sum((counts := request_counts(metrics_port)).values()) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert counts[("/v1/markets/{market}/trades", "200")] == 2, counts
        assert counts[("/v1/markets", "200")] == 1
        assert counts[("unmatched", "404")] == 1
        assert not any(market in route for route, _ in counts)
        # ... and it is alive and ready (its store pool is open)
        assert get(f"http://127.0.0.1:{metrics_port}/healthz")[0] == 200
        assert json.loads(get(f"http://127.0.0.1:{metrics_port}/readyz")[1])["checks"] == {"store": True}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
