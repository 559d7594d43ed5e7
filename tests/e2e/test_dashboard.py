"""A bot trades on NATS; a dashboard reads trades, candles, positions and PnL over HTTP and over
the WebSocket stream, using the receipt's position as its read-your-writes token.

Full path: bot client -> commands stream -> engine -> event store -> relay -> events stream ->
projectors -> read store -> read API (a real `python -m read_api` process).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import httpx
import nats
import pytest
import websockets
from solders.keypair import Keypair

from bus import streams
from bus.engine import EngineSettings, run_forever
from bus.engine_intake import OperatorKeys
from bus.relay import Relay, open_source
from client import BotClient
from commands import messages
from deploy.local.nats import NatsServer
from deploy.local.ports import free_port, wait_for_port
from projections.registry import REGISTRY
from tests.integration.projections.helpers import running_projectors

ROOT = Path(__file__).resolve().parents[2]
USDC, SOL = 1_000_000, 1_000_000_000


@contextlib.asynccontextmanager
async def exchange(nats_url: str, store_dsn: str, admin: Keypair):
    """Engine and relay in this event loop for the block."""
    connection = await nats.connect(nats_url)
    await streams.declare(connection.jetstream())
    stop = asyncio.Event()
    engine = asyncio.create_task(run_forever(EngineSettings(
        nats_url=nats_url, pg_dsn=store_dsn,
        operators=OperatorKeys(admin=frozenset({str(admin.pubkey())}))), stop))
    relay = Relay(connection, await asyncio.to_thread(open_source, store_dsn), poll_interval=0.02)
    relaying = asyncio.create_task(relay.run(stop))
    try:
        yield
    finally:
        stop.set()
        relay.wake.set()
        await asyncio.wait_for(relaying, 10)
        await asyncio.wait_for(engine, 20)
        await connection.close()


@contextlib.contextmanager
def read_api(read_dsn: str):
    port = free_port()
    output = tempfile.TemporaryFile()  # kept to say why, should it exit before listening
    process = subprocess.Popen([sys.executable, "-m", "read_api", "--pg", read_dsn, "--port", str(port)],
                               cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    try:
        try:
            wait_for_port(port, 30, process=process, name="read_api")
        except RuntimeError as error:
            output.seek(0)
            raise RuntimeError(f"{error}:\n{output.read()[-3000:].decode(errors='replace')}") from None
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
        output.close()


async def sign_in(http: httpx.AsyncClient, keypair: Keypair) -> dict:
    challenge = (await http.get("/v1/auth/nonce", params={"wallet": str(keypair.pubkey())})).json()
    signature = keypair.sign_message(challenge["message"].encode())
    token = (await http.post("/v1/auth/token", json={
        "wallet": str(keypair.pubkey()), "nonce": challenge["nonce"], "signature": str(signature)})).json()
    return {"Authorization": f"Bearer {token['token']}"}


@pytest.fixture
def own_nats(tmp_path):
    server = NatsServer(tmp_path / "nats").start()
    yield server.url
    server.stop()


async def test_bot_trades_and_the_dashboard_sees_it(own_nats, postgres, fresh_pg_dsn):
    read_dsn = postgres.create_database(f"e2e_read_{uuid.uuid4().hex[:8]}")
    admin, alice_key, bob_key = Keypair(), Keypair(), Keypair()
    async with exchange(own_nats, fresh_pg_dsn, admin), \
            running_projectors(REGISTRY, own_nats, read_dsn, idle_timeout=0.05):
        operator = await BotClient.connect(own_nats, admin)
        alice = await BotClient.connect(own_nats, alice_key)
        bob = await BotClient.connect(own_nats, bob_key)
        try:
            # The operator lists SOL-PERP; two bots open accounts and are funded
            assert (await operator.send(messages.CreateMarket(
                market="SOL-PERP", base_asset="SOL", tick_size=10_000, lot_size=1_000_000,
                min_size=1_000_000, max_leverage=20, initial_margin_bps=500,
                maintenance_margin_bps=250, maker_fee_bps=0, taker_fee_bps=5))).accepted
            assert (await operator.send(messages.SetOraclePrice(symbol="SOL", price=100 * USDC))).accepted
            for bot in (alice, bob):
                assert (await bot.open_account()).accepted
                assert (await operator.deposit_for(bot.owner, "USDC", 10_000 * USDC)).accepted
            # Alice rests a sell; Bob's buy crosses it
            assert (await alice.place_order("SOL-PERP", "sell", size=2 * SOL, price=100 * USDC)).accepted
            bid = await bob.place_order("SOL-PERP", "buy", size=2 * SOL, price=101 * USDC,
                                        client_order_id="bob-1")
            assert bid.accepted, bid

            with read_api(read_dsn) as host:
                async with httpx.AsyncClient(base_url=f"http://{host}", timeout=10) as http:
                    # The dashboard reads the trade once the projections reached Bob's receipt
                    wait = {"min_seq": bid.position, "wait_ms": 5000}
                    trades = (await http.get("/v1/markets/SOL-PERP/trades", params=wait)).json()
                    assert [(t["price"], t["size"], t["taker_side"]) for t in trades["items"]] == [
                        (100 * USDC, 2 * SOL, "buy")]
                    candles = (await http.get("/v1/markets/SOL-PERP/candles", params={"resolution": "1m", **wait})).json()
                    assert candles[0]["trades"] == 1 and candles[0]["close"] == 100 * USDC
                    # Signed in as Bob: his position, PnL hours and his command's receipt
                    headers = await sign_in(http, bob_key)
                    positions = (await http.get(f"/v1/accounts/{bob.owner}/0/positions",
                                                params=wait, headers=headers)).json()
                    assert [(p["market"], p["size"]) for p in positions] == [("SOL-PERP", 2 * SOL)]
                    pnl = (await http.get(f"/v1/accounts/{bob.owner}/0/pnl", headers=headers)).json()
                    assert pnl[0]["fees"] > 0 and pnl[0]["volume"] == 200 * USDC
                    receipts = await http.get(f"/v1/receipts/{bob.owner}/{bid.command_id}",
                                              params=wait, headers=headers)
                    assert receipts.status_code == 200 and receipts.json()["outcome"] == "accepted"
                    # And the trade arrives over the WebSocket stream too
                    async with websockets.connect(f"ws://{host}/v1/ws/trades/SOL-PERP") as ws:
                        streamed = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    assert streamed["type"] == "trade" and streamed["size"] == 2 * SOL
        finally:
            for bot in (operator, alice, bob):
                await bot.close()
