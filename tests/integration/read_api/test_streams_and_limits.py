"""Dashboards stream the book (snapshot then deltas, resumable), trades, candles, markets and
the private account channel; callers over their tier's budget get 429 with Retry-After."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from projections.sample import OWNERS
from read_api.app import create_app
from read_api.settings import RateTier
from tests.integration.read_api.conftest import make_settings, sign_in


def test_order_book_stream_snapshot_then_resume_from_a_sequence(client, sample):
    # The first message is a snapshot naming its position
    with client.websocket_connect("/v1/ws/orderbook/SOL-PERP") as ws:
        snapshot = ws.receive_json()
    assert snapshot["type"] == "snapshot" and snapshot["position"] > 0
    # A client resuming from an earlier position gets the deltas after it, in order
    first_book_event = next(e.position for e in sample if e.type == "OrderPlaced" and e.key == "SOL-PERP")
    with client.websocket_connect(f"/v1/ws/orderbook/SOL-PERP?from_seq={first_book_event}") as ws:
        delta = ws.receive_json()
    assert delta["type"] == "delta" and delta["position"] > first_book_event


def test_trades_candles_markets_and_account_streams(client):
    with client.websocket_connect("/v1/ws/trades/SOL-PERP") as ws:
        trade = ws.receive_json()
    assert trade["type"] == "trade" and trade["market"] == "SOL-PERP"
    with client.websocket_connect("/v1/ws/candles/SOL-PERP?resolution=5m") as ws:
        assert ws.receive_json()["resolution"] == "5m"
    with client.websocket_connect("/v1/ws/markets") as ws:
        assert len(ws.receive_json()["markets"]) == 2
    token = sign_in(client, 0)["Authorization"].split()[1]
    with client.websocket_connect(f"/v1/ws/account/{OWNERS[0]}/0?token={token}") as ws:
        update = ws.receive_json()
    assert update["type"] == "account" and update["state"]["account"] == f"{OWNERS[0]}/0"
    # Without a valid token the private channel is refused
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect(f"/v1/ws/account/{OWNERS[0]}/0?token=bad") as ws:
            ws.receive_json()


def test_rate_limits_per_ip_and_per_key_answer_429_with_retry_after(read_store_dsn):
    settings = make_settings(read_store_dsn)
    settings.tiers["anonymous"] = RateTier(rate=1.0, burst=3)
    settings.tiers["authenticated"] = RateTier(rate=1.0, burst=6)
    with TestClient(create_app(settings)) as limited:
        codes = [limited.get("/v1/markets").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = limited.get("/v1/markets")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        # A signed-in caller is counted per wallet key, on its own (larger) budget
        limited.app.state.limiter.buckets.clear()
        headers = sign_in(limited, 0)
        codes = [limited.get("/v1/markets", headers=headers).status_code for _ in range(7)]
        assert codes[:6] == [200] * 6 and codes[-1] == 429


def test_bad_input_gets_clear_4xx(client):
    assert client.get("/v1/markets/NOPE-PERP").status_code == 404
    assert client.get("/v1/markets/SOL-PERP/trades", params={"limit": 100000}).status_code == 422
    assert client.get("/v1/markets/SOL-PERP/trades", params={"cursor": "!!"}).json()["error"] == "InvalidCursor"
    assert client.get("/v1/markets/SOL-PERP/candles", params={"resolution": "7m"}).status_code == 422
    bad_token = client.get(f"/v1/accounts/{OWNERS[0]}/0", headers={"Authorization": "Bearer x.y"})
    assert bad_token.status_code == 401 and bad_token.json()["error"] == "InvalidToken"
    wrong_signature = client.post("/v1/auth/token", json={
        "wallet": OWNERS[0], "nonce": client.get("/v1/auth/nonce", params={"wallet": OWNERS[0]}).json()["nonce"],
        "signature": "1" * 88})
    assert wrong_signature.status_code == 401
