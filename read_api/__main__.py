"""`python -m read_api --pg DSN --port N`: serve the read API with uvicorn."""

from __future__ import annotations

import argparse
import os

import uvicorn

from read_api.app import create_app
from read_api.settings import RateTier, Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m read_api")
    parser.add_argument("--pg", required=True, help="PostgreSQL conninfo of the read store")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--pool", type=int, default=8, help="database connections")
    parser.add_argument("--anonymous-rate", type=float, default=50.0,
                        help="requests/s per IP without sign-in (burst = 2x)")
    args = parser.parse_args(argv)
    secret = os.environ.get("QD_READ_API_TOKEN_SECRET")
    settings = Settings(dsn=args.pg, pool_size=args.pool,
                        **({"token_secret": secret.encode()} if secret else {}))
    settings.tiers["anonymous"] = RateTier(rate=args.anonymous_rate, burst=int(args.anonymous_rate * 2))
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning",
                access_log=False)


if __name__ == "__main__":
    main()
