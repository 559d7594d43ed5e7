"""Blue/green rebuild: replay the whole events stream into a fresh schema while the old one
serves, catch up, compare checksums, and switch the `read` views over in one transaction.

Catch-up protocol: replay until close to the live position; then lock the live schema's
position row (the live projector cannot commit another batch), replay exactly up to the live
position, compare every table's checksum, switch views and the `active` row, commit. The live
projector then notices the switch and resumes in the new schema from its recorded stream
sequence. If the checksums differ the switch is refused (unless forced) and the old schema stays.

Deliveries that go astray (a NATS node dying mid-rebuild) neither stop the rebuild nor end a
phase early: the feed resumes from the new schema's recorded position, and a phase ends only
when the consumer confirms it delivered nothing we did not receive.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import nats
import psycopg
from nats.js.errors import NotFoundError

from bus.puller import DeliveryLost
from bus.streams import EVENTS_STREAM
from projections.catalog import ensure_active, schema_name, switch
from projections.checksum import model_checksums
from projections.consumer import Feed, resume_feed
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
        replay = Replay(js, conn, model, new, durable, batch_size=batch_size, use_copy=supports_copy(conn))
        await replay.start()
        # 1. Replay while the old generation serves, never past its position.
        await replay.until_idle(lambda: read_position(conn, model, old)[0])
        # 2. Freeze the live projector, replay exactly to its position, compare, switch.
        with lock_conn.transaction():
            live_position = lock_conn.execute(
                f"SELECT position FROM {old}.projection_position WHERE projector = %s FOR UPDATE",
                (name,)).fetchone()[0]
            # until there: or until nothing more to read (no more of this model's events)
            await replay.until_idle(lambda: live_position, reach=live_position)
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


class Replay:
    """The rebuild's feed into the new schema, resumed from that schema's recorded position
    whenever deliveries go astray."""

    def __init__(self, js, conn, model, schema: str, durable: str, **feed_options) -> None:
        self.js, self.conn, self.model, self.schema, self.durable = js, conn, model, schema, durable
        self.feed_options = feed_options
        self.feed: Feed | None = None

    async def start(self) -> None:
        self.feed = await resume_feed(self.js, self.conn, self.model, self.schema, self.durable,
                                      **self.feed_options)

    async def until_idle(self, up_to, *, reach: int | None = None) -> None:
        """Apply events up to position `up_to()` until the consumer has nothing more for us (or
        the feed has reached position `reach`)."""
        while reach is None or self.feed.position < reach:
            try:
                if not await self.feed.step(timeout=0.5, up_to=up_to()):
                    await self.feed.subscription.check_nothing_astray()
                    return
            except DeliveryLost as lost:
                log.warning("rebuild of %s: %r; resuming from the recorded position", self.schema, lost)
                await self.feed.stop()
                await self.start()


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
