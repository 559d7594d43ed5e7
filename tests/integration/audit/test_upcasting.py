"""Upcasting: events stored under schema v1 stay readable after the schema changes, and a
replay reaches the same state hash as the v1 code had live.

The change exercised: `Credited` renames `holder` to `account` and gains `memo` (class_version 2,
with `upcast_v1_v2`); `Opened` gains `currency` (class_version 2). The old topics are mapped to the
new class with eventsourcing's `register_topic`, as a deployment would after a rename.
"""

import hashlib
import json

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing import utils
from eventsourcing.utils import get_topic, register_topic

from audit.log_source import StoreLog
from audit.replay import Replay
from tests.integration.audit.ledger import ledger_environment


class Wallet(Aggregate):
    """Schema v1, as the old code had it."""

    @event("Opened")
    def __init__(self, name: str) -> None:
        self.name = name
        self.balances: dict[str, int] = {}

    @event("Credited")
    def credit(self, holder: str, amount: int) -> None:
        self.balances[holder] = self.balances.get(holder, 0) + amount


class WalletV2(Aggregate):
    """Schema v2: what the code says after the change."""

    class Opened(Aggregate.Created):
        class_version = 2
        name: str
        currency: str

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["currency"] = "USDC"  # every v1 wallet was a USDC wallet

    class Credited(Aggregate.Event):
        class_version = 2
        account: str
        amount: int
        memo: str

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["account"] = state.pop("holder")
            state["memo"] = ""

    @event(Opened)
    def __init__(self, name: str, currency: str) -> None:
        self.name = name
        self.currency = currency
        self.balances: dict[str, int] = {}

    @event(Credited)
    def credit(self, account: str, amount: int, memo: str) -> None:
        self.balances[account] = self.balances.get(account, 0) + amount


class Wallets(Application):
    name = "Wallets"


def wallets_state_hash(aggregates: list) -> str:
    """The same canonical state for both schemas: balances per wallet."""
    state = sorted((wallet.name, sorted(wallet.balances.items())) for wallet in aggregates)
    return hashlib.sha256(json.dumps(state).encode()).hexdigest()


@pytest.fixture
def wallets_v1(fresh_pg_dsn):
    app = Wallets(env=ledger_environment(fresh_pg_dsn))
    yield app
    app.close()
    forget_wallet_topics()


def forget_wallet_topics() -> None:
    """Drop this module's Wallet topics from eventsourcing's cache (and nobody else's)."""
    prefix = get_topic(Wallet).partition(":")[0] + ":Wallet"
    for topic in [topic for topic in utils._topic_cache if topic.startswith(prefix)]:
        del utils._topic_cache[topic]


def is_wallet(topic: str) -> bool:
    return ":Wallet" in topic


def test_v1_events_replay_to_the_same_state_hash_under_schema_v2(wallets_v1, fresh_pg_dsn):
    import psycopg

    from audit.chain import install_chain

    with psycopg.connect(fresh_pg_dsn) as conn:
        install_chain(conn, "wallets_events")
    # The old code stores v1 events and knows its state hash.
    wallets = [Wallet(name=f"w{n}") for n in range(3)]
    for round_number in range(5):
        for wallet in wallets:
            wallet.credit(holder=f"h{round_number % 2}", amount=round_number + 1)
    wallets_v1.save(*wallets)
    v1_hash = wallets_state_hash(wallets)
    # The schema changes: the old topics now resolve to the v2 classes.
    old_topic = get_topic(Wallet)
    forget_wallet_topics()
    register_topic(old_topic, WalletV2)
    # A replay under v2 upcasts every stored event, verifies the chain, and reaches the v1 hash.
    replay = Replay(include=is_wallet, state_hasher=wallets_state_hash)
    result = replay.run(StoreLog(fresh_pg_dsn, "wallets_events").rows())
    assert result.ok and result.applied == 18
    assert result.checkpoints[-1].state_hash == v1_hash
    rebuilt = next(iter(result.aggregates.values()))
    assert isinstance(rebuilt, WalletV2) and rebuilt.currency == "USDC"
    # New v2 events are stored alongside the old ones and both kinds replay together.
    rebuilt.credit(account="h9", amount=5, memo="after the change")
    wallets_v1.save(rebuilt)
    rows = list(StoreLog(fresh_pg_dsn, "wallets_events").rows())
    assert b'"class_version":2' in rows[-1].state.replace(b" ", b"")
    mixed = Replay(include=is_wallet, state_hasher=wallets_state_hash).run(rows)
    assert mixed.ok and mixed.aggregates[rebuilt.id].balances["h9"] == 5
