"""The full path for bots: client -> commands stream -> engine -> store -> relay -> events stream.

Two bots open accounts, get deposits from the operator, trade against each other, and each sees
its own fill on its account subject; a repeated command answers the original outcome.
"""

import asyncio
import contextlib
import os
import sys
import uuid
from pathlib import Path

import pytest
from solders.keypair import Keypair

from bus.engine import EngineSettings, run_forever
from bus.engine_intake import OperatorKeys
from bus.relay import Relay, open_source
from client import BotClient, fills_of
from commands import messages

REPO_ROOT = Path(__file__).resolve().parents[3]
USDC = 1_000_000
SOL = 1_000_000_000


@contextlib.asynccontextmanager
async def running_exchange(nats_url: str, dsn: str, admin: Keypair, connection):
    """The engine and the relay, running in this event loop for the block."""
    stop = asyncio.Event()
    settings = EngineSettings(nats_url=nats_url, pg_dsn=dsn,
                              operators=OperatorKeys(admin=frozenset({str(admin.pubkey())})))
    engine = asyncio.create_task(run_forever(settings, stop))
    relay = Relay(connection, await asyncio.to_thread(open_source, dsn), poll_interval=0.05)
    relaying = asyncio.create_task(relay.run(stop))
    try:
        yield relay
    finally:
        stop.set()
        relay.wake.set()
        await asyncio.wait_for(relaying, 10)
        await asyncio.wait_for(engine, 20)


async def next_of_type(feed, event_type: str, timeout: float = 10.0):
    """The next event of ``event_type`` on a feed, skipping others."""
    async with asyncio.timeout(timeout):
        while True:
            event = await feed.next(timeout=timeout)
            if event.event_type == event_type:
                return event


async def test_two_bots_trade_and_each_sees_its_fill(own_nats_url, connection, fresh_pg_dsn):
    admin = Keypair()
    async with running_exchange(own_nats_url, fresh_pg_dsn, admin, connection):
        operator = await BotClient.connect(own_nats_url, admin)
        alice = await BotClient.connect(own_nats_url, Keypair())
        bob = await BotClient.connect(own_nats_url, Keypair())
        alice_feed = bob_feed = None
        try:
            # The operator lists SOL-PERP and prices it
            market = messages.CreateMarket(
                market="SOL-PERP", base_asset="SOL", tick_size=10_000, lot_size=1_000_000,
                min_size=1_000_000, max_leverage=20, initial_margin_bps=500,
                maintenance_margin_bps=250, maker_fee_bps=0, taker_fee_bps=5)
            assert (await operator.send(market)).accepted
            assert (await operator.send(messages.SetOraclePrice(symbol="SOL", price=100 * USDC))).accepted

            # Each bot follows its account, opens it and is credited a deposit
            alice_feed = await alice.account_events().start()
            bob_feed = await bob.account_events().start()
            for bot in (alice, bob):
                opened = await bot.open_account()
                assert opened.accepted, opened
                deposited = await operator.deposit_for(bot.owner, "USDC", 10_000 * USDC)
                assert deposited.accepted, deposited
            deposit = await next_of_type(alice_feed, "Deposited")
            assert deposit.payload and b'"amount":10000000000' in bytes(deposit.payload)

            # Alice rests a sell, cancels another; Bob's buy crosses the first
            market_feed = await bob.market_events("SOL-PERP").start()
            ask = await alice.place_order("SOL-PERP", "sell", size=2 * SOL, price=100 * USDC,
                                          client_order_id="ask-1")
            assert ask.accepted, ask
            spare = await alice.place_order("SOL-PERP", "sell", size=SOL, price=120 * USDC,
                                            client_order_id="ask-2")
            assert spare.accepted and (await alice.cancel_order("SOL-PERP", "ask-2")).accepted
            bid = await bob.place_order("SOL-PERP", "buy", size=2 * SOL, price=101 * USDC)
            assert bid.accepted, bid
            assert bid.position > ask.position > 0

            # Then each sees its own fill on its account subject
            alice_settled = await next_of_type(alice_feed, "TradeSettled")
            bob_settled = await next_of_type(bob_feed, "TradeSettled")
            assert alice_settled.seq == bob_settled.seq  # settled by the same command
            [(market, _, alice_fill)] = fills_of(alice_settled)
            [(_, _, bob_fill)] = fills_of(bob_settled)
            assert market == "SOL-PERP"
            assert (alice_fill.side, alice_fill.liquidity, alice_fill.size) == ("sell", "maker", 2 * SOL)
            assert (bob_fill.side, bob_fill.liquidity, bob_fill.price) == ("buy", "taker", 100 * USDC)

            # And the market's followers see the orders on the market subject
            placed = await next_of_type(market_feed, "OrderPlaced")
            assert placed.aggregate_type == "Market" and placed.seq == ask.seq
            await market_feed.close()

            # And a repeated command id answers with the original outcome, no second effect
            command_id = uuid.uuid4().hex
            first = await bob.send(messages.CancelAll(market="SOL-PERP"), command_id=command_id)
            again = await bob.send(messages.CancelAll(market="SOL-PERP"), command_id=command_id)
            assert again.command_id == first.command_id == command_id
            assert again.notification_ids == first.notification_ids
            assert await bob.lookup_receipt(command_id) is not None
        finally:
            for feed in (alice_feed, bob_feed):
                if feed is not None:
                    await feed.close()
            for bot in (operator, alice, bob):
                await bot.close()


async def test_a_bad_command_gets_a_typed_rejection(own_nats_url, connection, fresh_pg_dsn):
    admin = Keypair()
    async with running_exchange(own_nats_url, fresh_pg_dsn, admin, connection):
        bot = await BotClient.connect(own_nats_url, Keypair())
        try:
            # Trading before opening an account, in a market that does not exist
            receipt = await bot.place_order("NOPE-PERP", "buy", size=SOL, price=USDC)
            assert not receipt.accepted and receipt.reason
            # An admin command signed by a plain key
            refused = await bot.send(messages.SetOraclePrice(symbol="SOL", price=USDC))
            assert not refused.accepted and refused.reason == "NotAuthorized"
        finally:
            await bot.close()


async def test_pipelined_submissions_each_get_their_receipt(own_nats_url, connection, fresh_pg_dsn):
    admin = Keypair()
    async with running_exchange(own_nats_url, fresh_pg_dsn, admin, connection):
        bot = await BotClient.connect(own_nats_url, Keypair())
        try:
            # A bot fires 200 commands without waiting, then collects the receipts
            assert (await bot.open_account()).accepted
            futures = [await bot.submit(messages.CancelAll()) for _ in range(200)]
            receipts = await asyncio.wait_for(asyncio.gather(*futures), 30)
            # Each answered once, in the order the stream sequenced them
            assert all(receipt.accepted for receipt in receipts)
            sequences = [receipt.seq for receipt in receipts]
            assert sequences == sorted(sequences) and len(set(sequences)) == 200

            # And the stored receipts travel on the owner's receipt subject too
            feed = await bot.receipts(from_start=True).start()
            recorded = [await feed.next() for _ in range(201)]
            assert {event.event_type for event in recorded} == {"Recorded"}
            assert sorted(event.seq for event in recorded)[1:] == sequences
            await feed.close()
        finally:
            await bot.close()


async def test_the_example_bot_runs_against_the_exchange(own_nats_url, connection, fresh_pg_dsn,
                                                         tmp_path):
    # Given the exchange running with the dev admin key the examples use
    from client import load_or_create_keypair

    keyfile = tmp_path / "admin.json"
    admin = load_or_create_keypair(keyfile)
    async with running_exchange(own_nats_url, fresh_pg_dsn, admin, connection):
        # When the example bot runs
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "examples.bot", "--nats", own_nats_url,
            cwd=REPO_ROOT, env={**os.environ, "QD_ADMIN_KEYFILE": str(keyfile)},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        output, _ = await asyncio.wait_for(process.communicate(), 60)

    # Then it opened, funded, placed and cancelled, and exited cleanly
    text = output.decode()
    assert process.returncode == 0, text
    for line in ("open account", "deposit 10000 USDC (dev path): ok", "accepted (consistency token",
                 "cancel rest-"):
        assert line in text, text
