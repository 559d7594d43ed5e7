"""`python -m onchain.watcher`: credit finalized on-chain deposits through the engine.

    python -m onchain.watcher --nats URL --rpc URL[,URL...] --keypair FILE [--assets USDC,SOL] [--cursor FILE]
                              [--metrics-port 9100]
    (or env QD_NATS_URL, QD_RPC_URLS, QD_DEPOSIT_KEYPAIR, QD_ONCHAIN_ASSETS, QD_STATE_DIR, QD_METRICS_PORT;
     the keypair's public key must be one of the engine's --deposit-watcher keys)

With a metrics port it serves /metrics (deposits credited / duplicate / rejected, RPC errors,
scanned slot and lag, the cursor's signature), /healthz and /readyz (started, NATS, RPC).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from client.keys import load_or_create_keypair
from onchain.assets import parse_symbols
from onchain.watcher.service import RPC_ERRORS, DepositWatcher, WatcherSettings
from observability.health import Readiness, add_metrics_port_option, serve_operations
from observability.lifecycle import run_restarting, stop_on_signals
from observability.logs import configure_logging
from observability.metrics import DepositWatcherMetrics

log = logging.getLogger("onchain.watcher")


def settings_from_arguments(argv: list[str] | None = None) -> WatcherSettings:
    """Flags, falling back on QD_* environment variables."""
    return settings_and_metrics_port(argv)[0]


def settings_and_metrics_port(argv: list[str] | None = None) -> tuple[WatcherSettings, int]:
    """Flags, falling back on QD_* environment variables; the metrics port (-1: none)."""
    parser = argparse.ArgumentParser(prog="python -m onchain.watcher", description=__doc__.splitlines()[0])
    state_dir = Path(os.environ.get("QD_STATE_DIR", "."))
    parser.add_argument("--nats", default=os.environ.get("QD_NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--rpc", default=os.environ.get("QD_RPC_URLS", "http://127.0.0.1:8899"))
    parser.add_argument("--keypair", default=os.environ.get("QD_DEPOSIT_KEYPAIR",
                                                            str(state_dir / "deposit-watcher.json")))
    parser.add_argument("--cursor", default=str(state_dir / "deposit-watcher-cursor.json"))
    parser.add_argument("--assets", default=os.environ.get("QD_ONCHAIN_ASSETS", "USDC"))
    parser.add_argument("--poll-seconds", type=float, default=0.5)
    parser.add_argument("--log-level", default=os.environ.get("QD_LOG_LEVEL", "WARNING"))
    add_metrics_port_option(parser)
    arguments = parser.parse_args(argv)
    configure_logging("deposit-watcher", arguments.log_level.upper())  # JSON lines (observability.logs)
    return WatcherSettings(nats_url=arguments.nats, rpc_urls=[u for u in arguments.rpc.split(",") if u],
                           keypair=load_or_create_keypair(arguments.keypair), cursor_path=Path(arguments.cursor),
                           asset_symbols=parse_symbols(arguments.assets),
                           poll_seconds=arguments.poll_seconds), arguments.metrics_port


async def run_forever(settings: WatcherSettings, stop: asyncio.Event, metrics: DepositWatcherMetrics | None = None,
                      readiness: Readiness | None = None) -> None:
    """Run the watcher, restarting after any failure (it resumes from its cursor); one metrics
    set across restarts; readiness follows the watcher running now."""
    metrics = metrics or DepositWatcherMetrics()

    def new_watcher() -> DepositWatcher:
        watcher = DepositWatcher(settings, metrics)
        if readiness is not None:
            readiness.follow(("started", "nats", "rpc"), watcher.readiness)
        return watcher

    def count(error: Exception) -> None:
        if isinstance(error, RPC_ERRORS):
            metrics.rpc_errors.inc()

    await run_restarting(new_watcher, stop, log, "watcher", on_failure=count)


def main(argv: list[str] | None = None) -> int:
    settings, metrics_port = settings_and_metrics_port(argv)
    metrics = DepositWatcherMetrics()
    health = serve_operations(metrics_port, metrics, log)

    async def _main() -> None:
        await run_forever(settings, stop_on_signals(), metrics, health.readiness if health else None)

    try:
        asyncio.run(_main())
    finally:
        if health is not None:
            health.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
