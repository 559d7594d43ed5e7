"""The price feed and the keeper as real processes against a real engine (nats-server, PostgreSQL):
each serves /metrics, /healthz and /readyz, and its counters move with the work it does."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

from tests.probes import alive, eventually, free_port, metrics, readiness


@contextlib.contextmanager
def service(module: str, *args: str, port: int, port_by_env: bool = False) -> Iterator[subprocess.Popen]:
    """`python -m <module>` with its metrics port as the flag or as QD_METRICS_PORT; killed on
    the way out if the test did not stop it."""
    flags = [] if port_by_env else ["--metrics-port", str(port)]
    env = {**os.environ, "QD_METRICS_PORT": str(port)} if port_by_env else dict(os.environ)
    process = subprocess.Popen([sys.executable, "-m", module, *flags, *args], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def stopped(process: subprocess.Popen) -> int:
    """SIGTERM (as an orchestrator stops it) and the exit code."""
    process.send_signal(signal.SIGTERM)
    return await asyncio.to_thread(process.wait, 20)


def keyfile(admin, tmp_path) -> str:
    path = tmp_path / "admin.json"
    path.write_text(json.dumps(list(bytes(admin))))
    return str(path)


async def test_the_price_feed_serves_prices_published_and_oracle_validity(engine, engine_nats_url, admin, tmp_path):
    port = free_port()
    # The synthetic feed publishes SOL, BTC and ETH every 0.2 s, signed by the operator key.
    with service("risk.feed", "--nats", engine_nats_url, "--admin-keyfile", keyfile(admin, tmp_path),
                 "--interval", "0.2", "synthetic", port=port) as feed:
        # Prometheus sees the prices accepted per market, and every oracle Valid and fresh.
        def published() -> dict | None:
            found = metrics(port)
            accepted = {market: found[("qd_oracle_prices_published_total",
                                       (("market", market), ("outcome", "accepted")))]
                        for market in ("BTC", "ETH", "SOL")}
            return found if min(accepted.values()) >= 2 else None

        found = await eventually(published)
        for market in ("BTC", "ETH", "SOL"):
            assert found[("qd_oracle_valid", (("market", market),))] == 1
            assert found[("qd_oracle_validity", (("market", market), ("state", "Valid")))] == 1
            assert found[("qd_oracle_validity", (("market", market), ("state", "StaleForTrading")))] == 0
            assert 0 <= found[("qd_oracle_price_age_seconds", (("market", market),))] < 10
        assert found[("qd_build_info", (("service", "price-feed"), ("version", "dev")))] == 1
        # Alive, and ready: connected to NATS.
        assert alive(port)
        assert readiness(port) == (200, {"ready": True, "checks": {"nats": True}})
        assert await stopped(feed) == 0


async def test_the_keeper_serves_its_sweeps_and_liquidating_sweeps_by_outcome(engine, engine_nats_url, admin,
                                                                               tmp_path):
    port = free_port()
    # The keeper liquidates on every 2nd sweep with its own (opened) account; port from the environment.
    with service("risk.keeper", "--nats", engine_nats_url, "--admin-keyfile", keyfile(admin, tmp_path),
                 "--sweep-interval", "0.1", "--liquidate", "--liquidate-every", "2", port=port,
                 port_by_env=True) as keeper:
        accepted = (("outcome", "accepted"), ("reason", ""))

        def swept() -> dict | None:
            found = metrics(port)
            return found if found[("qd_keeper_sweeps_total", accepted)] >= 4 else None

        found = await eventually(swept)
        # About half of the sweeps liquidated (the first one does), none failed or was refused.
        liquidating = found[("qd_keeper_liquidation_sweeps_total", accepted)]
        assert 1 <= liquidating < found[("qd_keeper_sweeps_total", accepted)]
        assert not [key for key in found if key[0] == "qd_keeper_sweeps_total" and key[1] != accepted]
        assert found[("qd_keeper_last_sweep_timestamp_seconds", ())] > 0
        assert alive(port)
        assert readiness(port) == (200, {"ready": True, "checks": {"nats": True}})
        assert await stopped(keeper) == 0


async def test_a_keeper_the_engine_does_not_trust_shows_its_refusals_by_reason(engine, engine_nats_url, tmp_path):
    from solders.keypair import Keypair

    port = free_port()
    with service("risk.keeper", "--nats", engine_nats_url, "--admin-keyfile", keyfile(Keypair(), tmp_path),
                 "--sweep-interval", "0.1", port=port):
        def refused() -> dict | None:
            found = metrics(port)
            rejected = {key: value for key, value in found.items()
                        if key[0] == "qd_keeper_sweeps_total" and ("outcome", "rejected") in key[1]}
            return rejected if sum(rejected.values()) >= 2 else None

        rejected = await eventually(refused)
        [(_, labels)] = rejected
        assert dict(labels)["reason"] == "NotAuthorized"  # the signer is not an operator
        assert readiness(port)[0] == 200  # refused, yet connected: ready
