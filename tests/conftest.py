"""Shared fixtures: a throwaway nats-server (JetStream) and PostgreSQL for the whole session.

Both listen on free loopback ports and live in a temporary directory that is removed at the end,
even when tests fail. They never touch `make run`'s state directory.
"""

import shutil
import tempfile
import uuid
from pathlib import Path

import os

import pytest
from hypothesis import HealthCheck, settings

# CI runs the same examples every time (a red CI must be reproducible on a laptop with CI=true);
# development runs explore new examples. Timing-based health checks are noise on 2 busy cores.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")

from deploy.local.nats import NatsServer
from deploy.local.postgres import FAST_UNSAFE_SETTINGS, Postgres


@pytest.fixture(scope="session")
def services_dir():
    """A temporary directory for the session's servers, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="qd-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def nats_server(services_dir):
    """A nats-server with JetStream for the session."""
    server = NatsServer(services_dir / "nats", log_file=services_dir / "nats.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def nats_url(nats_server) -> str:
    return nats_server.url


@pytest.fixture(scope="module")
def module_nats_url(tmp_path_factory) -> str:
    """A nats-server of the test module's own (stream and consumer names are global, and these
    modules delete, reshape or kill them)."""
    directory = tmp_path_factory.mktemp("module-nats")
    server = NatsServer(directory / "store", log_file=directory / "nats.log").start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def postgres(services_dir):
    """A PostgreSQL cluster for the session (durability settings off: tests kill processes, not disks)."""
    server = Postgres(services_dir / "pg", log_file=services_dir / "pg.log",
                      settings=FAST_UNSAFE_SETTINGS).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_dsn(postgres) -> str:
    """Conninfo of the session cluster's `postgres` database (shared: use unique names)."""
    return postgres.dsn


@pytest.fixture
def fresh_pg_dsn(postgres) -> str:
    """Conninfo of a new, empty database of its own for one test."""
    return postgres.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def unique_id() -> str:
    """A short id so that tests never collide on shared servers."""
    return uuid.uuid4().hex[:10]
