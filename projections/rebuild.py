"""Blue/green rebuild: replay the whole events stream into a fresh schema while the old one
serves, catch up, compare checksums, and switch the `read` views over in one transaction.

Catch-up protocol: replay until close to the live position; then lock the live schema's
position row (the live projector cannot commit another batch), replay exactly up to the live
position, compare every table's checksum, switch views and the `active` row, commit. The live
projector then notices the switch and resumes in the new schema from its recorded stream
sequence. If the checksums differ the switch is refused (unless forced) and the old schema stays.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import nats
import psycopg
from nats.js.errors import NotFoundError

from bus.streams import EVENTS_STREAM
from projections.catalog import ensure_active, schema_name, switch
from projections.checksum import model_checksums
from projections.consumer import Feed, declare_consumer
from projections.flavour import detect_flavour, supports_copy
from projections.model import open_projector_connection, create_tables, read_position
from projections.registry import REGISTRY

log = logging.getLogger(__name__)


@dataclass
class RebuildResult:
    projector: str
    old_schema: str
    new_schema: str
    position: int
    switched: bool
    old_checksums: dict = field(default_factory=dict)
    new_checksums: dict = field(default_factory=dict)

    @property
    def matches(self) -> bool:
        return self.old_checksums == self.new_checksums


async def rebuild(name: str, nats_url: str, dsn: str, *, switch_over: bool = True,
                  force: bool = False, batch_size: int = 5000) -> RebuildResult:
    """Rebuild projector `name` into a new generation; switch when caught up and identical."""
    conn = open_projector_connection(dsn)
    lock_conn = psycopg.connect(dsn, autocommit=False)
    nc = await nats.connect(nats_url)
    durable = f"proj_{name}_rebuild"
    js = nc.jetstream()
    try:
        model = REGISTRY[name](detect_flavour(conn))
        old = ensure_active(conn, model)
        generation = conn.execute("SELECT generation FROM qd_projection.active WHERE projector = %s",
                                  (name,)).fetchone()[0] + 1
        new = schema_name(name, generation)
        conn.execute(f"DROP SCHEMA IF EXISTS {new} CASCADE")
        create_tables(conn, model, new)
        await declare_consumer(js, model, durable, 0)
        feed = Feed(js, conn, model, new, durable, batch_size=batch_size, use_copy=supports_copy(conn))
        await feed.start()
        # 1. Replay while the old generation serves, never past its position.
        while await feed.step(timeout=0.5, up_to=read_position(conn, model, old)[0]):
            pass
        # 2. Freeze the live projector, replay exactly to its position, compare, switch.
        with lock_conn.transaction():
            live_position = lock_conn.execute(
                f"SELECT position FROM {old}.projection_position WHERE projector = %s FOR UPDATE",
                (name,)).fetchone()[0]
            while feed.position < live_position:
                if not await feed.step(timeout=0.5, up_to=live_position):
                    break  # nothing more to read: the stream holds no more of this model's events
            result = RebuildResult(name, old, new, live_position, False,
                                   model_checksums(lock_conn, model, old),
                                   model_checksums(lock_conn, model, new))
            if switch_over and (result.matches or force):
                switch(lock_conn, model, new, generation)
                result.switched = True
        log.info("rebuild %s: %s -> %s at position %d, checksums %s, switched %s", name, old, new,
                 live_position, "match" if result.matches else "DIFFER", result.switched)
        return result
    finally:
        try:
            await js.delete_consumer(EVENTS_STREAM, durable)
        except NotFoundError:
            pass
        await nc.close()
        lock_conn.close()
        conn.close()


def rebuild_sync(name: str, nats_url: str, dsn: str, **options) -> RebuildResult:
    """`qd`-callable entry point (synchronous)."""
    return asyncio.run(rebuild(name, nats_url, dsn, **options))


def main(argv: list[str] | None = None) -> int:
    """`python -m projections.rebuild <name> [--nats URL] [--pg DSN] [--no-switch] [--force]`."""
    import argparse
    import os

    parser = argparse.ArgumentParser(prog="python -m projections.rebuild")
    parser.add_argument("name", choices=sorted(REGISTRY))
    parser.add_argument("--nats", default=os.environ.get("QD_NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--pg", default=os.environ.get("QD_PG_DSN", ""))
    parser.add_argument("--no-switch", action="store_true", help="build and compare only")
    parser.add_argument("--force", action="store_true", help="switch even if checksums differ")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    result = rebuild_sync(args.name, args.nats, args.pg, switch_over=not args.no_switch, force=args.force)
    for table, (rows, digest) in result.new_checksums.items():
        old_rows, old_digest = result.old_checksums.get(table, (None, None))
        print(f"{table:20s} rows {rows:>9} {'same' if digest == old_digest else 'DIFFERENT'}")
    print(f"{result.old_schema} -> {result.new_schema} at position {result.position}:"
          f" {'switched' if result.switched else 'not switched'}")
    return 0 if result.matches or args.force else 1


if __name__ == "__main__":
    import sys

    sys.exit(main())
