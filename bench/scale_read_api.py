"""bench.scale's read API phase: requests/s of `python -m read_api --workers N` under a
closed-loop load of two client processes (16 connections each) on market-data routes."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from pathlib import Path

import httpx

from bench.service_processes import service
from deploy.local.nats import stop_process
from deploy.local.ports import free_port, wait_for_port

API_PATHS = ("/v1/markets/SOL-PERP/trades?limit=50", "/v1/markets/SOL-PERP/candles?resolution=1m&limit=50",
             "/v1/markets/SOL-PERP/candles?resolution=1h&limit=24")  # read models of the trades projector


def _client_load(port: int, seconds: float, connections: int, results) -> None:
    """One client process: `connections` closed loops over the market-data routes."""
    import httpx

    async def loop(client, counts) -> None:
        stop = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < stop:
            response = await client.get(API_PATHS[i % len(API_PATHS)])
            counts["ok" if response.status_code == 200 else "errors"] += 1
            i += 1

    async def main() -> dict:
        counts = {"ok": 0, "errors": 0}
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=10) as client:
            await asyncio.gather(*(loop(client, counts) for _ in range(connections)))
        return counts

    results.put(asyncio.run(main()))


def measure_read_api(dsn: str, workers: int, seconds: float, log_dir: Path) -> dict:
    """Requests/s of `python -m read_api --workers N` under two client processes."""
    port = free_port()
    api = service(log_dir, f"read-api-{workers}", "read_api", "--pg", dsn, "--port", str(port),
                  "--workers", str(workers), "--anonymous-rate", "1000000")
    try:
        wait_for_port(port, 60, process=api, name="read_api")
        time.sleep(1.0 + workers)  # every worker up and its pool open
        results = multiprocessing.Queue()
        clients = [multiprocessing.Process(target=_client_load, args=(port, seconds, 16, results))
                   for _ in range(2)]
        for client in clients:
            client.start()
        counts = [results.get(timeout=seconds + 60) for _ in clients]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as probe:  # name a failure, if any
            sample = {path: probe.get(path).status_code for path in API_PATHS}
        for client in clients:
            client.join()
        ok, errors = sum(c["ok"] for c in counts), sum(c["errors"] for c in counts)
        return {"req_per_s": round(ok / seconds, 1), "errors": errors, "statuses": sample}
    finally:
        stop_process(api)
