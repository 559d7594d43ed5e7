"""`python -m read_api --pg DSN --port N [--workers W]`: serve the read API with uvicorn.

Flags default to the local stack's environment (QD_PG_DSN, QD_READ_API_PORT, QD_METRICS_PORT,
QD_LOG_LEVEL). With `--metrics-port` a worker serves /metrics (latency by route template), /healthz
and /readyz on that port from a thread; logs are JSON lines (`observability.logs`).

Known limit: with `--workers` > 1 only one port exists for W registries, so metrics are off;
run one worker per process (compose runs replicas) to have them.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets

import uvicorn

from observability.health import Readiness, start_health_server
from observability.logs import configure_logging
from observability.metrics import ReadApiMetrics
from read_api.app import create_app
from read_api.settings import RateTier, Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m read_api")
    parser.add_argument("--pg", default=os.environ.get("QD_PG_DSN", ""),
                        help="PostgreSQL conninfo of the read store (default $QD_PG_DSN)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("QD_READ_API_PORT", "8000")),
                        help="default $QD_READ_API_PORT, else 8000")
    parser.add_argument("--pool", type=int, default=8, help="database connections")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--anonymous-rate", type=float, default=50.0,
                        help="requests/s per IP without sign-in (burst = 2x)")
    parser.add_argument("--authenticated-rate", type=float, default=200.0,
                        help="requests/s per signed-in wallet (burst = 2x)")
    parser.add_argument("--http", default="httptools", choices=("httptools", "h11"),
                        help="HTTP parser: httptools (C, the default) or h11 (pure Python)")
    parser.add_argument("--metrics-port", type=int, default=int(os.environ.get("QD_METRICS_PORT", "-1")),
                        help="serve /metrics /healthz /readyz here (default $QD_METRICS_PORT, else none)")
    parser.add_argument("--log-level", default=os.environ.get("QD_LOG_LEVEL", "WARNING"))
    args = parser.parse_args(argv)
    if not args.pg:
        parser.error("--pg (or QD_PG_DSN) is required")
    configure_logging("read-api", args.log_level)
    if args.metrics_port >= 0 and args.workers > 1:
        logging.getLogger("read_api").warning("--workers %d: metrics off (one port, several registries)",
                                              args.workers)
    elif args.metrics_port >= 0:
        os.environ["QD_READ_API_METRICS_PORT"] = str(args.metrics_port)
    os.environ["QD_READ_API_PG"] = args.pg
    os.environ["QD_READ_API_POOL"] = str(args.pool)
    os.environ["QD_READ_API_ANONYMOUS_RATE"] = str(args.anonymous_rate)
    os.environ["QD_READ_API_AUTHENTICATED_RATE"] = str(args.authenticated_rate)
    # Workers must share the token secret so a token from one is valid at the others.
    os.environ.setdefault("QD_READ_API_TOKEN_SECRET", secrets.token_hex(32))
    # uvloop and httptools: the event loop and HTTP parsing in C (h11 costs a request's worth
    # of Python per request).
    uvicorn.run("read_api.__main__:app_from_environment", factory=True, host=args.host,
                port=args.port, workers=args.workers, log_level=args.log_level.lower(), access_log=False,
                loop="uvloop", http=args.http, log_config=None)


def app_from_environment():
    """The app for one uvicorn worker, configured by the launcher's environment."""
    rate = float(os.environ.get("QD_READ_API_ANONYMOUS_RATE", "50"))
    settings = Settings(dsn=os.environ["QD_READ_API_PG"], pool_size=int(os.environ.get("QD_READ_API_POOL", "8")),
                        token_secret=os.environ["QD_READ_API_TOKEN_SECRET"].encode())
    settings.tiers["anonymous"] = RateTier(rate=rate, burst=int(rate * 2))
    signed_in = float(os.environ.get("QD_READ_API_AUTHENTICATED_RATE", "200"))
    settings.tiers["authenticated"] = RateTier(rate=signed_in, burst=int(signed_in * 2))
    port = os.environ.get("QD_READ_API_METRICS_PORT")
    if port is None:
        return create_app(settings)
    metrics, readiness = ReadApiMetrics(), Readiness()
    start_health_server(int(port), metrics.registry, readiness=readiness)
    return create_app(settings, metrics=metrics, readiness=readiness)


if __name__ == "__main__":
    main()
