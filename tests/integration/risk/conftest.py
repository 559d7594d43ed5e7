"""Fixtures of the risk processes' integration tests: the engine's (a private nats-server per
module, fresh streams and database per test, an engine in the test's loop)."""

from tests.integration.engine.conftest import admin, engine, engine_nats_url, nc, operator  # noqa: F401
