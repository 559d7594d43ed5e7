"""Fixtures of the standby tests: a nats-server of this module's own (stream and consumer names
are global, so no other test may share it) and our services as real processes."""

from __future__ import annotations

import pytest

from tests.integration.cluster.conftest import ServiceProcesses


@pytest.fixture(scope="module")
def standby_nats_url(module_nats_url) -> str:
    """A nats-server of this module's own."""
    return module_nats_url


@pytest.fixture
def services(tmp_path):
    running = ServiceProcesses(tmp_path)
    yield running
    running.stop_all()
