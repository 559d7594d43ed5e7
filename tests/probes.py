"""What Prometheus and an orchestrator's probes see of a service: /metrics, /healthz, /readyz
(over HTTP from a running process, or straight from a registry in a unit test)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from deploy.local.ports import free_port  # noqa: F401 - re-exported for the tests that start services


def get(url: str) -> tuple[int, bytes]:
    """(status, body) of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def metrics(port: int) -> dict[tuple[str, tuple], float]:
    """Every sample served on /metrics as {(name, sorted label pairs): value}."""
    status, body = get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200, body
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body.decode()) for sample in family.samples}


def registry_samples(registry) -> dict[tuple[str, tuple], float]:
    """Every sample of an in-process registry, keyed as `metrics` keys them."""
    from prometheus_client import generate_latest

    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(generate_latest(registry).decode())
            for sample in family.samples}


def readiness(port: int) -> tuple[int, dict]:
    """(status, body) of /readyz."""
    status, body = get(f"http://127.0.0.1:{port}/readyz")
    return status, json.loads(body)


def alive(port: int) -> bool:
    return get(f"http://127.0.0.1:{port}/healthz") == (200, b'{"alive": true}')


async def eventually(check, timeout: float = 20.0, every: float = 0.1):
    """Wait until ``check()`` (run in a thread: it does HTTP) is truthy; return it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            value = await asyncio.to_thread(check)
        except (OSError, AssertionError, KeyError):
            value = None  # not serving yet, or not there yet
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(every)
