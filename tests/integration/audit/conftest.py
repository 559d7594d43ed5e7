"""Fixtures of the audit integration tests: a chained PostgreSQL store of test ledgers."""

import psycopg
import pytest

from audit.chain import install_chain
from tests.integration.audit.ledger import EVENTS_TABLE, LedgerApp, ledger_environment


@pytest.fixture
def ledger_app(fresh_pg_dsn):
    """An eventsourcing application whose events table is chained by the audit trigger."""
    app = LedgerApp(env=ledger_environment(fresh_pg_dsn))
    with psycopg.connect(fresh_pg_dsn) as conn:
        install_chain(conn, EVENTS_TABLE)
    yield app
    app.close()


@pytest.fixture
def own_nats_url(tmp_path):
    """A nats-server of the test's own: the events stream's whole content is compared."""
    from deploy.local.nats import NatsServer

    server = NatsServer(tmp_path / "nats", log_file=tmp_path / "nats.log").start()
    yield server.url
    server.stop()
