"""The public cache serves repeated market-data reads without going to PostgreSQL, yet a read
carrying `min_seq` always sees the projections at that position (read-your-writes), and a
projector's progress invalidates what it cached."""

from __future__ import annotations

import time
import uuid

from fastapi.testclient import TestClient

from projections.offline import project_events
from read_api import cache
from read_api.app import create_app
from tests.integration.read_api.conftest import make_settings


def test_cached_reads_follow_the_projection_and_min_seq_reads_bypass_it(postgres, sample):
    # A read store holding the first half of the session
    dsn = postgres.create_database(f"rc_{uuid.uuid4().hex[:10]}")
    half = len(sample) // 2
    project_events(dsn, sample[:half])
    with TestClient(create_app(make_settings(dsn))) as client:
        # The same public read twice: the second is the cached answer, identical
        first = client.get("/v1/markets/SOL-PERP/trades", params={"limit": 5}).json()
        assert client.get("/v1/markets/SOL-PERP/trades", params={"limit": 5}).json() == first
        assert any(key.startswith("/v1/markets/SOL-PERP/trades?")
                   for key in client.app.state.public_cache.entries)

        # The projectors apply the rest of the session
        project_events(dsn, sample[half:])
        last = sample[-1].position

        # A read-your-writes read sees the new trades at once (never the cache)
        fresh = client.get("/v1/markets/SOL-PERP/trades", params={"limit": 5, "min_seq": last}).json()
        assert fresh["items"][0]["trade_id"] > first["items"][0]["trade_id"]

        # Without min_seq, the cached answer is gone once positions are read again (one poll)
        time.sleep(cache.POLL_SECONDS * 2)
        assert client.get("/v1/markets/SOL-PERP/trades", params={"limit": 5}).json() == fresh
