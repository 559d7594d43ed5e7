"""`python -m projections.run <name> --nats URL --pg DSN`: run one projector process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from projections.event import PoisonEvent
from projections.projector import run_projector
from projections.registry import REGISTRY


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run until interrupted; exit 2 on a poison event, naming it."""
    parser = argparse.ArgumentParser(prog="python -m projections.run")
    parser.add_argument("name", choices=sorted(REGISTRY))
    parser.add_argument("--nats", required=True, help="NATS URL, e.g. nats://127.0.0.1:4222")
    parser.add_argument("--pg", required=True, help="PostgreSQL conninfo of the read store")
    parser.add_argument("--batch", type=int, default=2000, help="events per fetch/transaction")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        asyncio.run(run_projector(args.name, args.nats, args.pg, batch_size=args.batch))
    except PoisonEvent as poison:
        logging.getLogger("projections").critical("STOPPED: %s", poison)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
