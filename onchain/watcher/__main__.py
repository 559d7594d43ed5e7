"""`python -m onchain.watcher`: credit finalized on-chain deposits through the engine.

    python -m onchain.watcher --nats URL --rpc URL[,URL...] --keypair FILE [--assets USDC,SOL] [--cursor FILE]
    (or env QD_NATS_URL, QD_RPC_URLS, QD_DEPOSIT_KEYPAIR, QD_ONCHAIN_ASSETS, QD_STATE_DIR;
     the keypair's public key must be one of the engine's --deposit-watcher keys)
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
from onchain.watcher.service import DepositWatcher, WatcherSettings
from observability.lifecycle import stop_on_signals
from observability.logs import configure_logging

log = logging.getLogger("onchain.watcher")


def settings_from_arguments(argv: list[str] | None = None) -> WatcherSettings:
    """Flags, falling back on QD_* environment variables."""
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
    arguments = parser.parse_args(argv)
    configure_logging("deposit-watcher", arguments.log_level.upper())  # JSON lines (observability.logs)
    return WatcherSettings(nats_url=arguments.nats, rpc_urls=[u for u in arguments.rpc.split(",") if u],
                           keypair=load_or_create_keypair(arguments.keypair), cursor_path=Path(arguments.cursor),
                           asset_symbols=parse_symbols(arguments.assets), poll_seconds=arguments.poll_seconds)


async def run_forever(settings: WatcherSettings, stop: asyncio.Event) -> None:
    """Run the watcher, restarting after any failure (it resumes from its cursor)."""
    while not stop.is_set():
        watcher = DepositWatcher(settings)
        try:
            await watcher.start()
            await watcher.run(stop)
        except Exception:  # noqa: BLE001
            log.exception("watcher failed; restarting in 1 s")
            await asyncio.sleep(1)
        finally:
            await watcher.close()


def main(argv: list[str] | None = None) -> int:
    settings = settings_from_arguments(argv)

    async def _main() -> None:
        await run_forever(settings, stop_on_signals())

    asyncio.run(_main())
    return 0


if __name__ == "__main__":
    sys.exit(main())
