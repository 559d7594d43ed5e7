"""`python -m bus.engine`: settings from flags or QD_* environment variables, then the engine.

    python -m bus.engine --nats URL --pg DSN [--admin PUBKEY ...] [--admin-keyfile PATH]
        [--deposit-watcher PUBKEY ...] [--batch-size 1000] [--verify-workers 1]
        [--snapshot-every 10000] [--command-rate 1000] [--command-burst 2000]
        [--log-level WARNING] [--metrics-port N]

Environment: QD_NATS_URL, QD_PG_DSN, QD_ADMIN_PUBKEY, QD_DEPOSIT_PUBKEY, QD_SETTLER_PUBKEY (comma-separated keys),
QD_ADMIN_KEYFILE (a Solana keyfile whose public key is an admin key), QD_LOG_LEVEL, QD_METRICS_PORT
(/metrics, /healthz, /readyz: commands by outcome and reason, batch sizes, commit latency, positions).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import sys

from bus.engine import EngineSettings, run_forever
from bus.engine_intake import OperatorKeys
from observability.health import add_metrics_port_option, serve_operations
from observability.lifecycle import stop_on_signals
from observability.logs import configure_logging
from observability.metrics import EngineMetrics

log = logging.getLogger("bus.engine")


def settings_from_arguments(argv: list[str] | None = None) -> EngineSettings:
    """Command-line flags, falling back on QD_* environment variables."""
    parser = argparse.ArgumentParser(prog="python -m bus.engine", description="The QuantDesk engine.")
    parser.add_argument("--nats", default=os.environ.get("QD_NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--pg", default=os.environ.get("QD_PG_DSN", ""))
    parser.add_argument("--admin", action="append", default=_keys("QD_ADMIN_PUBKEY"))
    parser.add_argument("--deposit-watcher", action="append", default=_keys("QD_DEPOSIT_PUBKEY"))
    parser.add_argument("--settler", action="append", default=_keys("QD_SETTLER_PUBKEY"))
    parser.add_argument("--admin-keyfile", default=os.environ.get("QD_ADMIN_KEYFILE", ""),
                        help="Solana keyfile whose public key is an admin key")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--verify-workers", type=int, default=1)
    # A snapshot costs O(aggregate): ~35 ms for a market of 10k resting orders, paid inside one
    # batch (a latency spike); replaying 10k events at start-up costs ~0.5 s.
    parser.add_argument("--snapshot-every", type=int, default=10_000)
    parser.add_argument("--command-rate", type=int, default=1000,
                        help="commands per second per account (bursts of --command-burst); 0: unlimited")
    parser.add_argument("--command-burst", type=int, default=2000)
    parser.add_argument("--log-level", default=os.environ.get("QD_LOG_LEVEL", "WARNING"))
    add_metrics_port_option(parser)
    arguments = parser.parse_args(argv)
    if not arguments.pg:
        parser.error("--pg (or QD_PG_DSN) is required")
    configure_logging("engine", arguments.log_level.upper())  # JSON lines (observability.logs)
    if arguments.admin_keyfile:
        from solders.keypair import Keypair

        keyfile = json.loads(open(arguments.admin_keyfile).read())
        arguments.admin.append(str(Keypair.from_bytes(bytes(keyfile)).pubkey()))
    if not arguments.admin:
        log.warning("no admin key (QD_ADMIN_PUBKEY / --admin): admin commands will be refused")
    return EngineSettings(
        nats_url=arguments.nats, pg_dsn=arguments.pg, batch_size=arguments.batch_size,
        verify_workers=arguments.verify_workers, snapshot_every=arguments.snapshot_every,
        command_rate=arguments.command_rate, command_burst=arguments.command_burst,
        metrics_port=arguments.metrics_port,
        operators=OperatorKeys(admin=frozenset(arguments.admin),
                               deposit_watchers=frozenset(arguments.deposit_watcher),
                               settlers=frozenset(arguments.settler)),
    )


def _keys(variable: str) -> list[str]:
    return [key.strip() for key in os.environ.get(variable, "").split(",") if key.strip()]


def tune_interpreter() -> None:
    """The engine process's GIL hand-over and garbage collection (also used by bus.standby)."""
    # The commit thread waits on PostgreSQL several times per batch and must win the GIL back
    # from the CPU-bound apply stage each time; at Python's default 5 ms switch interval that
    # hand-over dominated the commit (measured: ratio 0.21 -> 0.29..0.48 at 0.5 ms).
    sys.setswitchinterval(float(os.environ.get("QD_GIL_SWITCH_INTERVAL", "0.0005")))
    # Collect young objects every 10k net allocations, not 700: the engine allocates per command
    # and keeps a large live state, so the default spent ~7% of its CPU in the collector, with
    # full passes of 100 ms (measured; the state rebuilt at start is also frozen, bus.engine).
    gc.set_threshold(10_000, 10, 10)


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m bus.engine`."""
    settings = settings_from_arguments(argv)
    tune_interpreter()

    metrics = EngineMetrics() if settings.metrics_port >= 0 else None
    health = serve_operations(settings.metrics_port, metrics, log) if metrics else None

    async def _main() -> None:
        await run_forever(settings, stop_on_signals(), metrics, health.readiness if health else None)

    try:
        import uvloop

        uvloop.run(_main())
    except ImportError:
        asyncio.run(_main())


