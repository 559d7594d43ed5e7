"""`python -m bench.scale`: one NATS node versus a three-node R3 cluster, one read API process
versus two.

    python -m bench.scale [--commands 4000] [--api-seconds 4] [--projection-orders 40000]

For each topology (a single nats-server; three clustered over loopback with R3 streams), on a
fresh database of one local PostgreSQL:

- **End to end, commands/s**: signed PlaceOrder commands (crossing, so trades happen) are
  published as fast as JetStream acks them; the clock stops when the real engine process has
  committed the last one and the real relay process has published every stored event to the
  events stream. ``value`` = cluster commands/s, ``limit`` = single-node commands/s (the same
  path without replication), so ``ratio`` is what R3 costs.
- **Projection, events/s**: the real ``trades`` projector process then projects the whole events
  stream from the start; the rate is taken from its first applied batch to the last.

Then **projection scale-out, events/s**: the ``trades`` projector as one process versus two
market partitions (``--markets BTC-PERP`` and ``--markets SOL-PERP``, projections/partition.py)
on the same synthetic two-market session published to a nats-server as the relay would; each
catches up a paused backlog (the same method as above) into a fresh database.

Then **read API, requests/s**: ``python -m read_api --workers 1`` versus ``--workers 2`` (two
processes behind one port) on a store of 200k trades plus a projected session, under
bench.read_api's closed-loop dashboard mix (8 keep-alive connections, a minimal client) for a
fixed time.

All on loopback, bounded (a few thousand commands, a few seconds per phase); the machine is
shared, so figures are noisy: read them as ratios. Last line: one JSON object (bench.report).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
from pathlib import Path

from bench.report import emit
from bench.scale_partitions import run_partitions
from bench.read_api import seed as seed_read_store
from bench.scale_read_api import measure_read_api
from bench.scale_topology import run_topology
from deploy.local.cluster import NatsCluster
from deploy.local.nats import NatsServer
from deploy.local.postgres import FAST_UNSAFE_SETTINGS, Postgres


API_TRADES = 200_000


def run_all(base: Path, commands: int, api_seconds: float,
            projection_orders: int = 40_000) -> tuple[dict, dict, dict, dict]:
    """Both topologies, the projection with one and two processes, the read API with one and two."""
    postgres = Postgres(base / "pg", log_file=base / "pg.log", settings=FAST_UNSAFE_SETTINGS).start()
    try:
        single = NatsServer(base / "single", log_file=base / "single.log").start()
        try:
            one = asyncio.run(run_topology("single", [single.url], postgres.create_database("scale_single"),
                                           1, commands, base))
        finally:
            single.stop()
        print(f"single node:   {one}", flush=True)
        cluster_dsn = postgres.create_database("scale_cluster")
        with NatsCluster(base / "cluster").start() as cluster:
            three = asyncio.run(run_topology("cluster", cluster.urls, cluster_dsn, 3, commands, base))
        print(f"3-node R3:     {three}", flush=True)
        api_dsn = postgres.create_database("scale_read_api")
        seed_read_store(api_dsn, API_TRADES)
        api = {workers: measure_read_api(api_dsn, workers, api_seconds, base, API_TRADES)
               for workers in (1, 2)}
        print(f"read API:      {api}", flush=True)
        partitions = run_partitions(base, postgres, projection_orders)
        print(f"projection partitions: {partitions}", flush=True)
        return one, three, api, partitions
    finally:
        postgres.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=4000, help="commands per topology")
    parser.add_argument("--api-seconds", type=float, default=4.0, help="read API load per run")
    parser.add_argument("--keep", action="store_true", help="keep the servers' and services' logs")
    parser.add_argument("--projection-orders", type=int, default=40_000,
                        help="orders of the synthetic session projected by 1 vs 2 partitions")
    args = parser.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="qd-bench-scale-"))
    print(f"logs in {base}", flush=True)
    try:
        one, three, api, partitions = run_all(base, args.commands, args.api_seconds, args.projection_orders)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    emit(bench="scale", value=three["commands_per_s"], unit="commands/s", limit=one["commands_per_s"],
         commands=args.commands, single_node_commands_per_s=one["commands_per_s"],
         cluster_commands_per_s=three["commands_per_s"],
         projection_single_events_per_s=one["projection_events_per_s"],
         projection_cluster_events_per_s=three["projection_events_per_s"],
         read_api_req_per_s_1_process=api[1]["req_per_s"], read_api_req_per_s_2_processes=api[2]["req_per_s"],
         read_api_scaling=round(api[2]["req_per_s"] / api[1]["req_per_s"], 2) if api[1]["req_per_s"] else None,
         read_api_errors=api[1]["errors"] + api[2]["errors"],
         read_api_p99_ms_1_process=api[1]["p99_ms"], read_api_p99_ms_2_processes=api[2]["p99_ms"],
         projection_1_process_events_per_s=partitions[1]["events_per_s"],
         projection_2_partitions_events_per_s=partitions[2]["events_per_s"],
         projection_scaling=round(partitions[2]["events_per_s"] / partitions[1]["events_per_s"], 2))


if __name__ == "__main__":
    main()
