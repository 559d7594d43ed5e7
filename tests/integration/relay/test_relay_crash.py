"""Crash safety: the relay SIGKILLed at random instants under load, restarted, loses nothing and
duplicates nothing — the events stream ends up holding every stored event once, in log order."""

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

from eventsourcing.persistence import IntegrityError

from bus import streams, wire
from tests.integration.relay.conftest import read_events_stream, wait_until
from tests.integration.relay.ledger import Account

REPO_ROOT = Path(__file__).resolve().parents[3]
KILLS = 6


def start_relay(nats_url: str, dsn: str, log_path: Path) -> subprocess.Popen:
    """The relay as its own process, exactly as deployed."""
    log = open(log_path, "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "bus.relay", "--nats", nats_url, "--pg", dsn, "--window", "200"],
        cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


def write_steadily(store, stop: threading.Event) -> None:
    """A steady load: deposits on 20 accounts, saved 10 events per transaction; now and then a
    conflicting save is rolled back, burning notification ids (the log then has gaps)."""
    accounts = [Account(f"owner{i}", at=0, seq=i) for i in range(20)]
    store.save(*accounts)
    step = 0
    while not stop.is_set():
        if step % 200 == 0:
            fresh = Account("owner-new", at=step, seq=step)
            with contextlib.suppress(IntegrityError):
                store.save(fresh, Account("owner0", at=step, seq=step))  # owner0 exists: rollback
        touched = []
        for account in random.sample(accounts, 10):
            step += 1
            account.deposit(step, at=step, seq=step)
            touched.append(account)
        # A save retried after a lost connection can find its first attempt committed.
        with contextlib.suppress(IntegrityError):
            store.save(*touched)
        stop.wait(0.004)


async def test_relay_killed_at_random_instants_publishes_every_event_exactly_once(
    js, own_nats_url, store, fresh_pg_dsn, tmp_path
):
    # Given a store under steady write load
    stop_writing = threading.Event()
    writer = threading.Thread(target=write_steadily, args=(store, stop_writing))
    writer.start()
    log_path = tmp_path / "relay.log"
    try:
        # When the relay is SIGKILLed at random instants while it publishes, and restarted
        for _ in range(KILLS):
            relay = start_relay(own_nats_url, fresh_pg_dsn, log_path)
            head = (await js.stream_info(streams.EVENTS_STREAM)).state.last_seq

            async def publishing(head=head):
                return (await js.stream_info(streams.EVENTS_STREAM)).state.last_seq > head

            await wait_until(publishing, timeout=30)
            await asyncio.sleep(random.uniform(0.0, 0.4))
            relay.send_signal(signal.SIGKILL)
            relay.wait()
    finally:
        stop_writing.set()
        writer.join()

    # And a last relay runs until it has caught up with the store
    stored_ids = [n.id for n in store.recorder.select_notifications(start=None, limit=1_000_000)]
    relay = start_relay(own_nats_url, fresh_pg_dsn, log_path)
    try:
        async def caught_up():
            return (await js.stream_info(streams.EVENTS_STREAM)).state.messages >= len(stored_ids)

        await wait_until(caught_up, timeout=60)
        await asyncio.sleep(0.3)  # anything extra would show up now
    finally:
        relay.terminate()
        relay.wait(timeout=10)

    # Then the stream holds every stored event exactly once, in log order, without gaps
    messages = await read_events_stream(js)
    positions = [wire.decode(message.data).position for message in messages]
    assert len(stored_ids) > 1000
    assert stored_ids[-1] > len(stored_ids)  # the log has gaps: positions are not stream seqs
    assert positions == stored_ids
    assert [m.metadata.sequence.stream for m in messages] == list(range(1, len(messages) + 1))


async def test_two_relays_racing_still_publish_every_event_exactly_once(
    js, own_nats_url, store, fresh_pg_dsn, tmp_path
):
    # Given a store under load and, by mistake, two relay processes at once
    stop_writing = threading.Event()
    writer = threading.Thread(target=write_steadily, args=(store, stop_writing))
    writer.start()
    relays = [start_relay(own_nats_url, fresh_pg_dsn, tmp_path / f"relay{i}.log") for i in range(2)]
    try:
        await asyncio.sleep(3.0)
    finally:
        stop_writing.set()
        writer.join()

    # When they have caught up
    stored_ids = [n.id for n in store.recorder.select_notifications(start=None, limit=1_000_000)]
    try:
        async def caught_up():
            return (await js.stream_info(streams.EVENTS_STREAM)).state.messages >= len(stored_ids)

        await wait_until(caught_up, timeout=60)
        await asyncio.sleep(0.5)
    finally:
        for relay in relays:
            relay.terminate()
            relay.wait(timeout=10)

    # Then the stream still holds each stored event once, in log order
    messages = await read_events_stream(js)
    assert [wire.decode(message.data).position for message in messages] == stored_ids
