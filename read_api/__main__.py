"""`python -m read_api --pg DSN --port N [--workers W]`: serve the read API with uvicorn.

Flags default to the local stack's environment (QD_PG_DSN, QD_READ_API_PORT, QD_METRICS_PORT,
QD_LOG_LEVEL). With `--metrics-port` a worker serves /metrics (latency by route template), /healthz
and /readyz on that port from a thread; logs are JSON lines (`observability.logs`).

With `--workers W` > 1, W processes serve the one port, each on its own SO_REUSEPORT socket
(read_api/processes.py), and worker i serves its metrics on `--metrics-port` + i.
"""

from __future__ import annotations

import argparse
import functools
import os
import secrets

from observability.logs import configure_logging
from read_api.processes import supervise
from read_api.server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m read_api")
    parser.add_argument("--pg", default=os.environ.get("QD_PG_DSN", ""),
                        help="PostgreSQL conninfo of the read store (default $QD_PG_DSN)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("QD_READ_API_PORT", "8000")),
                        help="default $QD_READ_API_PORT, else 8000")
    parser.add_argument("--pool", type=int, default=8, help="database connections")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes serving the one port (each its own SO_REUSEPORT socket)")
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
    if args.metrics_port >= 0:
        os.environ["QD_READ_API_METRICS_PORT"] = str(args.metrics_port)
    os.environ["QD_READ_API_PG"] = args.pg
    os.environ["QD_READ_API_POOL"] = str(args.pool)
    os.environ["QD_READ_API_ANONYMOUS_RATE"] = str(args.anonymous_rate)
    os.environ["QD_READ_API_AUTHENTICATED_RATE"] = str(args.authenticated_rate)
    # Workers must share the token secret so a token from one is valid at the others.
    os.environ.setdefault("QD_READ_API_TOKEN_SECRET", secrets.token_hex(32))
    if args.workers > 1:
        supervise(args.workers, functools.partial(serve, args.host, args.port, args.http, args.log_level))
    else:
        serve(args.host, args.port, args.http, args.log_level, None)


if __name__ == "__main__":
    main()
