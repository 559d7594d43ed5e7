"""`python -m onchain.settler`: settle the event log on chain.

    python -m onchain.settler --nats URL --pg DSN --rpc URL[,URL...] --keypair FILE [--assets USDC,SOL]
                              [--metrics-port 9100]
    (or env QD_NATS_URL, QD_PG_DSN, QD_RPC_URLS, QD_SETTLER_KEYPAIR, QD_ONCHAIN_ASSETS, QD_METRICS_PORT;
     without a keypair file: $QD_STATE_DIR/settler-authority.json, created on first use)

With a metrics port it serves /metrics (batches by outcome, accounts settled, settled position and
lag), /healthz and /readyz (started, NATS, PostgreSQL, an RPC endpoint reachable).

A failure of the chain, NATS or PostgreSQL restarts the settler after a second (it reconciles
with the chain first); an event it cannot settle stops it with exit code 2, naming the event.
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
from onchain.settler.netting import CannotSettle
from onchain.settler.service import Settler, SettlerSettings
from observability.health import Readiness, add_metrics_port_option, serve_operations
from observability.lifecycle import run_restarting, stop_on_signals
from observability.logs import configure_logging
from observability.metrics import SettlerMetrics

log = logging.getLogger("onchain.settler")


def settings_from_arguments(argv: list[str] | None = None) -> SettlerSettings:
    """Flags, falling back on QD_* environment variables."""
    return settings_and_metrics_port(argv)[0]


def settings_and_metrics_port(argv: list[str] | None = None) -> tuple[SettlerSettings, int]:
    """Flags, falling back on QD_* environment variables; the metrics port (-1: none)."""
    parser = argparse.ArgumentParser(prog="python -m onchain.settler", description=__doc__.splitlines()[0])
    parser.add_argument("--nats", default=os.environ.get("QD_NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--pg", default=os.environ.get("QD_PG_DSN", ""))
    parser.add_argument("--rpc", default=os.environ.get("QD_RPC_URLS", "http://127.0.0.1:8899"))
    state_dir = Path(os.environ.get("QD_STATE_DIR", "."))
    parser.add_argument("--keypair", default=os.environ.get("QD_SETTLER_KEYPAIR",
                                                            str(state_dir / "settler-authority.json")))
    parser.add_argument("--record-keypair", default=os.environ.get("QD_SETTLER_RECORD_KEYPAIR", ""),
                        help="signs the log's settlement record (default: the authority key, which the engine "
                             "must admit via QD_SETTLER_PUBKEY; a dev stack without it uses QD_ADMIN_KEYFILE)")
    parser.add_argument("--assets", default=os.environ.get("QD_ONCHAIN_ASSETS", "USDC"))
    parser.add_argument("--idle-seconds", type=float, default=0.3)
    parser.add_argument("--max-wait-seconds", type=float, default=2.0)
    parser.add_argument("--legacy-transactions", action="store_true",
                        help="send legacy transactions (20 keys) instead of v0 through a lookup table")
    parser.add_argument("--max-account-locks", type=int, default=64,
                        help="account locks per transaction (128 where that feature is active)")
    parser.add_argument("--install-chain", action="store_true", default=os.environ.get("QD_INSTALL_CHAIN") == "1",
                        help="install the audit hash chain if missing (dev stacks)")
    parser.add_argument("--log-level", default=os.environ.get("QD_LOG_LEVEL", "WARNING"))
    add_metrics_port_option(parser)
    arguments = parser.parse_args(argv)
    if not arguments.pg:
        parser.error("--pg (or QD_PG_DSN) is required")
    configure_logging("settler", arguments.log_level.upper())  # JSON lines (observability.logs)
    authority, record_key = load_or_create_keypair(arguments.keypair), _record_key(arguments.record_keypair)
    admitted = [key.strip() for key in os.environ.get("QD_SETTLER_PUBKEY", "").split(",") if key.strip()]
    signer = str((record_key or authority).pubkey())
    if admitted and signer not in admitted:  # the engine would refuse every record it sends
        parser.error(f"the settlement records would be signed by {signer}, which QD_SETTLER_PUBKEY "
                     f"({', '.join(admitted)}) does not list: the engine would refuse them")
    return SettlerSettings(
        nats_url=arguments.nats, pg_dsn=arguments.pg, rpc_urls=[u for u in arguments.rpc.split(",") if u],
        authority=authority, asset_symbols=parse_symbols(arguments.assets),
        idle_seconds=arguments.idle_seconds, max_wait_seconds=arguments.max_wait_seconds,
        install_chain=arguments.install_chain, lookup_table=not arguments.legacy_transactions,
        max_account_locks=arguments.max_account_locks, record_key=record_key), arguments.metrics_port


def _record_key(keyfile: str):
    """The key that signs the record commands: explicit, else the authority (None) when the engine
    is configured with a settler key, else the dev stack's admin key (the engine admits admin)."""
    if keyfile:
        return load_or_create_keypair(keyfile)
    if not os.environ.get("QD_SETTLER_PUBKEY") and os.environ.get("QD_ADMIN_KEYFILE"):
        log.warning("no QD_SETTLER_PUBKEY: signing the settlement record with the admin key (dev stack)")
        return load_or_create_keypair(os.environ["QD_ADMIN_KEYFILE"])
    return None


async def run_forever(settings: SettlerSettings, stop: asyncio.Event, metrics: SettlerMetrics | None = None,
                      readiness: Readiness | None = None) -> None:
    """Run the settler, restarting (and reconciling) after any failure but a CannotSettle; one
    metrics set across restarts; readiness follows the settler running now."""
    metrics = metrics or SettlerMetrics()

    def new_settler() -> Settler:
        settler = Settler(settings, metrics)
        if readiness is not None:
            readiness.follow(("started", "nats", "postgres", "rpc"), settler.readiness)
        return settler

    await run_restarting(new_settler, stop, log, "settler", fatal=(CannotSettle,))


def main(argv: list[str] | None = None) -> int:
    settings, metrics_port = settings_and_metrics_port(argv)
    metrics = SettlerMetrics()
    health = serve_operations(metrics_port, metrics, log)

    async def _main() -> None:
        await run_forever(settings, stop_on_signals(), metrics, health.readiness if health else None)

    try:
        asyncio.run(_main())
    except CannotSettle as error:
        log.critical("STOPPED: %s", error)
        return 2
    finally:
        if health is not None:
            health.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
