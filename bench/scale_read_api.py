"""bench.scale's read API phase: requests/s of `python -m read_api --workers N` (N processes
behind one port) under bench.read_api's mixed dashboard load (market data, a cursor page, a
signed-in account's state and fills) over a store seeded with `trades` trades.

The mix matters on 2 cores: cached market-data answers cost the API less than the client
spends asking, so they measure the client; the dashboard mix makes the API the bottleneck,
which is what a second process is for.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import psutil

from bench.cpu import machine_busy, tree_cpu
from bench.read_api import dashboard_paths, http_load, sign_in
from bench.report import percentile
from bench.service_processes import service
from deploy.local.nats import stop_process
from deploy.local.ports import free_port, wait_for_port
from read_api.pagination import encode_cursor

CONNECTIONS = 8


def measure_read_api(dsn: str, workers: int, seconds: float, log_dir: Path, trades: int) -> dict:
    """Requests/s and p99 of `python -m read_api --workers N` on `dsn`, seeded by
    bench.read_api.seed with `trades` trades."""
    port = free_port()
    api = service(log_dir, f"read-api-{workers}", "read_api", "--pg", dsn, "--port", str(port),
                  "--pool", str(CONNECTIONS), "--workers", str(workers),
                  "--anonymous-rate", "1000000", "--authenticated-rate", "1000000")
    try:
        wait_for_port(port, 60, process=api, name="read_api")
        time.sleep(1.0 + workers)  # every worker up and its pool open
        return asyncio.run(_load(port, seconds, trades, api.pid))
    finally:
        stop_process(api)


async def _load(port: int, seconds: float, trades: int, api_pid: int) -> dict:
    """The load, and where the cores went meanwhile: `api_cores` (the API processes' CPU
    seconds per second: 1.0 = one process saturated) and `machine_busy` (share of all cores)."""
    cursor = encode_cursor(random.Random(1).randint(trades // 4, trades // 2) * 1_000_000)
    paths = dashboard_paths(cursor, await sign_in(port))
    await http_load(port, paths, 1.0, CONNECTIONS)  # warm-up: every worker's pool and caches
    api_cpu, machine, started = tree_cpu(api_pid), psutil.cpu_times(), time.perf_counter()
    count, latencies, errors = await http_load(port, paths, seconds, CONNECTIONS)
    elapsed, after = time.perf_counter() - started, psutil.cpu_times()
    return {"req_per_s": round((count - errors) / seconds, 1), "errors": errors,
            "p99_ms": percentile(latencies, 0.99),
            "api_cores": round((tree_cpu(api_pid) - api_cpu) / elapsed, 2),
            "machine_busy": machine_busy(machine, after)}
