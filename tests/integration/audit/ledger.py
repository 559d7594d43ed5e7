"""A test-local event-sourced aggregate and application, standing in for any domain."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg.conninfo import conninfo_to_dict


class Ledger(Aggregate):
    """A named ledger of integer balances."""

    @event("Opened")
    def __init__(self, name: str) -> None:
        self.name = name
        self.balances: dict[str, int] = {}

    @event("Credited")
    def credit(self, holder: str, amount: int) -> None:
        self.balances[holder] = self.balances.get(holder, 0) + amount

    @event("Debited")
    def debit(self, holder: str, amount: int) -> None:
        self.balances[holder] = self.balances.get(holder, 0) - amount


class LedgerApp(Application):
    """An eventsourcing application over PostgreSQL (table `ledgers_events`)."""

    name = "Ledgers"


EVENTS_TABLE = "ledgers_events"


def ledger_environment(dsn: str) -> dict[str, str]:
    """eventsourcing's PostgreSQL environment for a conninfo string."""
    parts = conninfo_to_dict(dsn)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.get("dbname", "postgres"),
        "POSTGRES_HOST": parts.get("host", "127.0.0.1"),
        "POSTGRES_PORT": str(parts.get("port", "5432")),
        "POSTGRES_USER": parts.get("user", "postgres"),
        "POSTGRES_PASSWORD": parts.get("password", ""),
    }


def ledger_state_hash(aggregates: list[Any]) -> str:
    """A canonical hash of every ledger's balances (the test domain's `state_hash`)."""
    state = sorted((ledger.name, sorted(ledger.balances.items())) for ledger in aggregates)
    return hashlib.sha256(json.dumps(state).encode()).hexdigest()


def is_ledger_topic(topic: str) -> bool:
    """Every topic of the test aggregate."""
    return ":Ledger." in topic


def fill_ledgers(app: LedgerApp, ledgers: int, rounds: int) -> list[Ledger]:
    """Store `ledgers` ledgers, each credited then debited `rounds` times, saved in batches."""
    created = [Ledger(name=f"L{n}") for n in range(ledgers)]
    app.save(*created)
    for round_number in range(rounds):
        for ledger in created:
            ledger.credit(holder=f"h{round_number % 3}", amount=100 + round_number)
            ledger.debit(holder=f"h{round_number % 2}", amount=7)
        app.save(*created)
    return created


def execute(dsn: str, statement: str, params: tuple = ()) -> None:
    """Run one statement in its own committed transaction (a tamperer's direct SQL)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(statement, params)
