"""One projector process: bootstrap (schema, consumer), then apply batches until stopped.

The serving schema is re-read between batches: after a blue/green switch the projector moves
to the new schema and resumes its consumer from that schema's recorded stream sequence.
A PoisonEvent propagates: the process logs it (naming the event) and exits non-zero.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncio
import contextlib
import datetime
import logging

import nats.errors

from bus import nats_servers
from projections.catalog import active_schema, ensure_active
from projections.consumer import resume_feed
from projections.flavour import detect_flavour, supports_copy
from projections.model import open_projector_connection
from projections.partition import check_not_partitioned, partition
from projections.registry import REGISTRY

if TYPE_CHECKING:
    from observability.health import Readiness
    from observability.metrics import ProjectorMetrics

log = logging.getLogger(__name__)


def durable_name(projector: str) -> str:
    return f"proj_{projector}"


def batch_observer(name: str, metrics: ProjectorMetrics):
    """A Feed's `on_metrics`: count the batch, its size, the position reached and both lags."""
    def observe(count: int, position: int, last_message) -> None:
        metadata = last_message.metadata
        # num_pending: events of our filter still in the stream behind this one (the lag in events)
        lag_seconds = (datetime.datetime.now(datetime.timezone.utc) - metadata.timestamp).total_seconds()
        metrics.batch_applied(name, count, position, head_position=position + metadata.num_pending,
                              lag_seconds=lag_seconds)
    return observe


async def run_projector(name: str, nats_url: str, dsn: str, *, batch_size: int = 2000,
                        stop: asyncio.Event | None = None, idle_timeout: float = 0.2,
                        metrics: ProjectorMetrics | None = None,
                        readiness: Readiness | None = None, markets: tuple[str, ...] = ()) -> None:
    """Run projector `name` until `stop` is set (forever when None), recording `metrics` if given;
    with `markets`, only those markets' events, as one partition of the model (partition.py)."""
    stop = stop or asyncio.Event()
    conn = open_projector_connection(dsn)
    nc = await nats_servers.connect(nats_url, "qd-projector")
    if readiness is not None:
        readiness.add("nats", lambda: nc.is_connected)
        readiness.add("store", lambda: not conn.closed)
    try:
        model = REGISTRY[name](detect_flavour(conn))
        if markets:
            partition(model, markets)
        durable = durable_name(model.position_key)
        on_batch = batch_observer(model.position_key, metrics) if metrics else None
        use_copy = supports_copy(conn)
        js = nc.jetstream()
        while not stop.is_set():
            schema = ensure_active(conn, model)
            check_not_partitioned(conn, model, schema)
            try:
                feed = await resume_feed(js, conn, model, schema, durable, batch_size=batch_size,
                                         use_copy=use_copy, on_metrics=on_batch)
            except (nats.errors.Error, asyncio.TimeoutError, OSError) as error:
                # A cluster node went away under the declaration: try again from the position.
                log.warning("projector %s: declaring its consumer failed (%r); trying again", name, error)
                await asyncio.sleep(1.0)
                continue
            log.info("projector %s serving %s from position %d", name, schema, feed.position)
            while not stop.is_set():
                try:
                    await feed.step(timeout=idle_timeout)
                except (nats.errors.Error, asyncio.TimeoutError, OSError) as error:
                    # The connection or a cluster node went away mid-batch: nothing half-done
                    # was committed (rows and position go together), so resume from the
                    # recorded position with a freshly declared consumer.
                    log.warning("projector %s: %r; resuming from the recorded position", name, error)
                    await asyncio.sleep(0.5)
                    break
                if active_schema(conn, name) != schema:
                    log.info("projector %s: serving schema switched; moving over", name)
                    break
            with contextlib.suppress(nats.errors.Error, asyncio.TimeoutError, OSError):
                await feed.stop()
    finally:
        await nc.close()
        conn.close()
