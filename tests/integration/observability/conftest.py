"""Fixtures of the services' metrics tests: the engine's (risk processes) and the on-chain loop's
stack (settler, watcher), each on a nats-server of its own module; and a scraper of /metrics."""

from tests.integration.engine.conftest import admin, engine, engine_nats_url, nc  # noqa: F401
from tests.integration.onchain.test_settlement_loop import loop_nats_url, stack  # noqa: F401
