"""Apply events straight into the serving schemas, without NATS: for tests, benchmarks and
demo data. Production projectors always read the events stream (projections.run)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg

from projections.catalog import ensure_active
from projections.event import ProjectedEvent
from projections.flavour import detect_flavour, supports_copy
from projections.model import apply_batch
from projections.registry import REGISTRY


def project_events(dsn: str, events: Sequence[ProjectedEvent], *, names: Iterable[str] = REGISTRY,
                   batch_size: int = 5000) -> None:
    """Run every named projector over `events` in batches (idempotent: positions are kept)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        flavour, use_copy = detect_flavour(conn), supports_copy(conn)
        for name in names:
            model = REGISTRY[name](flavour)
            schema = ensure_active(conn, model)
            for start in range(0, len(events), batch_size):
                apply_batch(conn, model, schema, events[start:start + batch_size], use_copy=use_copy)


def prepare_serving_schemas(dsn: str) -> None:
    """Create every projector's serving schema and `read` views if missing (idempotent), so
    readers never meet a missing view before a projector's first start."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        flavour = detect_flavour(conn)
        for model_class in REGISTRY.values():
            ensure_active(conn, model_class(flavour))
