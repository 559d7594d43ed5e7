"""Scale-out of the market-data projectors: one process per subset of markets, no double counting.

    python -m projections.run trades --markets BTC-PERP,ETH-PERP     # partition 1
    python -m projections.run trades --markets SOL-PERP              # partition 2

A partition is the same read model (same serving schema, same tables) restricted to some markets:
its durable consumer is filtered on those markets' subjects (``qd.evt.market.<M>.<EventType>``),
and it records its own row in ``projection_position`` (``trades__btc_perp_eth_perp``), advanced in
the same transaction as its rows. Partitions write disjoint rows (every row of these models is
keyed by market), so they run in parallel; each is exactly-once on its own, hence so is the set.

``read.position_<name>`` shows the model as a whole: complete through the LEAST position any
partition is complete through, ``events_applied`` summed.

Rules the operator keeps (not enforced): the partitions' market sets are disjoint and cover every
market (a market in no partition is never projected). A new partition starts where the whole
model had got to, so going from one process to partitions is safe; going back to one process is
refused (its row would be stale): rebuild the model instead (``projections.rebuild``).
Only models whose every subject is market-scoped can be partitioned (``PARTITIONABLE``).
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from bus import subjects
from projections.model import ReadModel

PARTITIONABLE = ("trades", "book")


class PartitionError(ValueError):
    """A partition that cannot be run as asked."""


def partition(model: ReadModel, markets: Sequence[str]) -> ReadModel:
    """`model` restricted to `markets` (the model itself, marked)."""
    if model.name not in PARTITIONABLE:
        raise PartitionError(f"{model.name} cannot be partitioned by market; only {PARTITIONABLE}")
    markets = tuple(sorted({subjects.token(market.strip()) for market in markets if market.strip()}))
    if not markets:
        raise PartitionError("a partition needs at least one market")
    model.markets = markets
    return model


def market_filter_subjects(model: ReadModel, whole: list[str]) -> list[str]:
    """The whole model's filter subjects with the market wildcard replaced by each market of it."""
    if not model.markets:
        return whole
    prefix = f"{subjects.EVENTS_PREFIX}.{subjects.SCOPE_MARKET}.*."
    if not all(subject.startswith(prefix) for subject in whole):
        raise PartitionError(f"{model.name} handles events outside markets: {whole}")
    return sorted(f"{subjects.EVENTS_PREFIX}.{subjects.SCOPE_MARKET}.{market}.{subject[len(prefix):]}"
                  for subject in whole for market in model.markets)


def check_not_partitioned(conn: psycopg.Connection, model: ReadModel, schema: str) -> None:
    """Refuse to run the whole model where partitions have run (its own row would be stale)."""
    if model.markets:
        return
    row = conn.execute(f"SELECT string_agg(projector, ', ') FROM {schema}.projection_position"
                       " WHERE projector LIKE %s", (model.name + r"\_\_%",)).fetchone()
    if row and row[0]:
        raise PartitionError(f"{model.name} runs as partitions here ({row[0]}): run those with "
                             "--markets, or rebuild the model to run it as one process")


def position_view_sql(name: str, schema: str) -> str:
    """`read.position_<name>`: the whole model's row, or the partitions' rows taken together."""
    partitions = f"projector LIKE '{name}\\_\\_%'"
    return (f"CREATE VIEW read.position_{name} AS SELECT '{name}'::text AS projector,"
            " min(position) AS position, sum(events_applied)::bigint AS events_applied,"
            " min(stream_seq) AS stream_seq,"
            " min(greatest(position, consistent_through)) AS consistent_through"
            f" FROM {schema}.projection_position WHERE CASE WHEN EXISTS (SELECT 1 FROM"
            f" {schema}.projection_position WHERE {partitions}) THEN {partitions}"
            f" ELSE projector = '{name}' END HAVING count(*) > 0")
