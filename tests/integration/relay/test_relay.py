"""The relay publishes every stored event to QD_EVT exactly once, in log order, routed by key."""

import asyncio

import pytest

from bus import subjects, wire
from bus.relay import Relay
from bus.relay_source import StoreSource
from observability.metrics import RelayMetrics
from tests.integration.relay.conftest import read_events_stream
from tests.integration.relay.ledger import Account, Market

OWNER_A = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"
OWNER_B = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"


def fill_store(store) -> None:
    """Two accounts and a market, with events recorded over three saves."""
    alice, bob = Account(OWNER_A, at=1, seq=1), Account(OWNER_B, at=1, seq=2)
    market = Market("SOL-PERP", at=1, seq=3)
    store.save(alice, bob, market)
    alice.deposit(100, at=2, seq=4)
    market.trade("SOL-PERP", price=150_000_000, size=1_000_000_000, at=2, seq=5)
    store.save(alice, market)
    bob.deposit(7, at=3, seq=6)
    store.save(bob)


async def test_every_stored_event_is_published_once_in_log_order(connection, js, store):
    # Given a store holding events of two accounts and a market
    fill_store(store)
    stored = store.recorder.select_notifications(start=None, limit=100)

    # When a relay runs, then a second relay starts on the same stream
    metrics = RelayMetrics()
    first = Relay(connection, StoreSource(store.recorder, store.mapper), window=2, metrics=metrics)
    await first.resume()
    assert await first.relay_available() == len(stored)
    assert metrics.registry.get_sample_value("qd_relay_published_total") == len(stored)
    assert metrics.registry.get_sample_value("qd_relay_position") == stored[-1].id
    second = Relay(connection, StoreSource(store.recorder, store.mapper))
    await second.resume()
    assert await second.relay_available() == 0

    # Then the stream holds each stored event once, in log order, with its position as msg id
    messages = await read_events_stream(js)
    decoded = [wire.decode(message.data) for message in messages]
    assert [event.position for event in decoded] == [n.id for n in stored]
    assert [m.headers[subjects.HEADER_MSG_ID] for m in messages] == [str(n.id) for n in stored]

    # And each event is routed to its account or market, the key found even when not carried
    routes = [(m.subject, e.aggregate_version, e.at, e.seq) for m, e in zip(messages, decoded)]
    assert routes == [
        (f"qd.evt.account.{OWNER_A}.Opened", 1, 1, 1),
        (f"qd.evt.account.{OWNER_B}.Opened", 1, 1, 2),
        ("qd.evt.market.SOL-PERP.Listed", 1, 1, 3),
        (f"qd.evt.account.{OWNER_A}.Deposited", 2, 2, 4),
        ("qd.evt.market.SOL-PERP.Traded", 2, 2, 5),
        (f"qd.evt.account.{OWNER_B}.Deposited", 2, 3, 6),
    ]
    assert wire.payload_dict(decoded[3]) == {"amount": 100}


async def test_a_stale_relay_can_neither_duplicate_nor_skip(connection, js, store):
    # Given two relays that both believe the stream is empty
    fill_store(store)
    live = Relay(connection, StoreSource(store.recorder, store.mapper))
    stale = Relay(connection, StoreSource(store.recorder, store.mapper))
    await live.resume()
    await stale.resume()

    # When the live one publishes, the stale one's publishes are refused by the server
    assert await live.relay_available() == 6
    with pytest.raises(Exception, match="(?i)wrong last sequence"):
        await stale.relay_available()

    # Then after resynchronising from the stream it has nothing left to publish
    await stale.resume()
    assert stale.position == live.position
    assert await stale.relay_available() == 0
    assert len(await read_events_stream(js)) == 6


async def test_relay_wakes_on_insert_and_follows_the_log(connection, store, fresh_pg_dsn):
    # Given a running relay process loop listening for the store's notifications
    from bus.relay import listen_for_inserts

    relay = Relay(connection, StoreSource(store.recorder, store.mapper), poll_interval=30.0)
    stop = asyncio.Event()
    listener = asyncio.create_task(
        listen_for_inserts(fresh_pg_dsn, store.recorder.channel_name, relay.wake, stop)
    )
    running = asyncio.create_task(relay.run(stop))
    await asyncio.sleep(0.3)

    # When events are stored, they reach the stream long before the 30 s poll
    await asyncio.to_thread(fill_store, store)
    deadline = asyncio.get_running_loop().time() + 5
    while relay.published < 6 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
    stop.set()
    relay.wake.set()
    await running
    listener.cancel()
    assert relay.published == 6
