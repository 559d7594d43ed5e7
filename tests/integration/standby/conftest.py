"""Fixtures of the standby tests: a nats-server of this module's own (stream and consumer names
are global, so no other test may share it) and our services as real processes."""

from __future__ import annotations

import pytest

from deploy.local.nats import NatsServer
from tests.integration.cluster.conftest import ServiceProcesses


@pytest.fixture(scope="module")
def standby_nats_url(tmp_path_factory):
    """A nats-server of this module's own."""
    directory = tmp_path_factory.mktemp("standby-nats")
    server = NatsServer(directory / "store", log_file=directory / "nats.log").start()
    yield server.url
    server.stop()


@pytest.fixture
def services(tmp_path):
    running = ServiceProcesses(tmp_path)
    yield running
    running.stop_all()
