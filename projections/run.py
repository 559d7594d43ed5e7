"""`python -m projections.run <name|all> --nats URL --pg DSN`: run projector processes.

`<name>` runs one projector in this process. `all` starts one child process per projector and
waits: each is independent (its own consumer, schema and transaction), and if any child exits
the others are stopped and `all` exits with that child's code, so a supervisor (`qd run`)
restarts the set; each resumes from its own recorded position. Flags default to the
environment of the local stack: QD_NATS_URL, QD_PG_DSN, QD_METRICS_PORT, QD_LOG_LEVEL.

With `--metrics-port` (or QD_METRICS_PORT) a single projector serves /metrics (batch sizes,
positions, projection lag in events and seconds), /healthz and /readyz on it; logs are JSON lines
(`observability.logs`) carrying the projector's name.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import time

from observability.health import Readiness, start_health_server
from observability.logs import configure_logging, log_context
from observability.metrics import ProjectorMetrics
from projections.event import PoisonEvent
from projections.projector import run_projector
from projections.registry import REGISTRY

POISON_EXIT = 2


def run_all(nats_url: str, dsn: str, batch: int, metrics_port: int = -1) -> int:
    """One child per projector; stop all when one stops (or on SIGTERM/SIGINT).

    With a metrics port P > 0, the i-th child (sorted by name) serves its metrics on P + i."""
    children = {name: subprocess.Popen([
        sys.executable, "-m", "projections.run", name, "--nats", nats_url, "--pg", dsn,
        "--batch", str(batch), "--metrics-port", str(metrics_port + index if metrics_port > 0 else -1)])
        for index, name in enumerate(sorted(REGISTRY))}
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    code = 0
    while not stopping:
        ended = {name: child.returncode for name, child in children.items() if child.poll() is not None}
        if ended:
            name, code = next(iter(ended.items()))
            logging.getLogger("projections").error("projector %s exited with %s: stopping the set", name, code)
            break
        time.sleep(0.5)
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    for child in children.values():
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
    return code


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run until interrupted; exit 2 on a poison event, naming it."""
    parser = argparse.ArgumentParser(prog="python -m projections.run")
    parser.add_argument("name", choices=[*sorted(REGISTRY), "all"])
    parser.add_argument("--nats", default=os.environ.get("QD_NATS_URL", "nats://127.0.0.1:4222"),
                        help="NATS URL (default $QD_NATS_URL)")
    parser.add_argument("--pg", default=os.environ.get("QD_PG_DSN", ""),
                        help="PostgreSQL conninfo of the read store (default $QD_PG_DSN)")
    parser.add_argument("--batch", type=int, default=2000, help="events per fetch/transaction")
    parser.add_argument("--metrics-port", type=int, default=int(os.environ.get("QD_METRICS_PORT", "-1")),
                        help="serve /metrics /healthz /readyz here (0: any free port; default "
                             "$QD_METRICS_PORT, else none)")
    parser.add_argument("--log-level", default=os.environ.get("QD_LOG_LEVEL", "INFO"))
    parser.add_argument("--markets", default=os.environ.get("QD_PROJECTOR_MARKETS", ""),
                        help="comma-separated markets: run this projector as the partition of "
                             "those markets (trades, book; see projections/partition.py)")
    args = parser.parse_args(argv)
    configure_logging("projector", args.log_level)
    if not args.pg:
        parser.error("--pg (or QD_PG_DSN) is required")
    markets = tuple(market for market in args.markets.split(",") if market.strip())
    if args.name == "all":
        if markets:
            parser.error("--markets partitions one projector, not `all`")
        return run_all(args.nats, args.pg, args.batch, args.metrics_port)
    stop = asyncio.Event()
    metrics, readiness, health = ProjectorMetrics(), Readiness(), None
    if args.metrics_port >= 0:
        health = start_health_server(args.metrics_port, metrics.registry, readiness=readiness)
        logging.getLogger("projections").warning("metrics on port %d", health.port)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run_projector(args.name, args.nats, args.pg, batch_size=args.batch, stop=stop,
                            metrics=metrics, readiness=readiness, markets=markets)

    try:
        with log_context(projector=args.name + (f"[{','.join(markets)}]" if markets else "")):
            asyncio.run(run())
    except PoisonEvent as poison:
        logging.getLogger("projections").critical("STOPPED: %s", poison)
        return POISON_EXIT
    finally:
        if health is not None:
            health.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
