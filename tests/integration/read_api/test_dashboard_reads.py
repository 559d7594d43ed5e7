"""A dashboard reads markets, the book, trades, candles and (signed in) an account's state,
history and receipts; lists page with cursors; as-of queries replay the account's past."""

from __future__ import annotations

from projections.sample import OWNERS
from tests.integration.read_api.conftest import sign_in


def test_market_data_is_public_and_consistent(client, sample):
    # Markets list with derived figures
    markets = client.get("/v1/markets").json()
    assert {m["market"] for m in markets} == {"SOL-PERP", "BTC-PERP"}
    sol = client.get("/v1/markets/SOL-PERP").json()
    assert sol["tick_size"] == 1000 and sol["funding_rate"] == 125_000
    assert int(sol["volume_24h_base"]) > 0 and sol["open_interest"] > 0
    # The book is never crossed and says which position it is exact at
    book = client.get("/v1/markets/SOL-PERP/orderbook", params={"depth": 5}).json()
    assert book["bids"] and book["asks"] and book["bids"][0]["price"] < book["asks"][0]["price"]
    assert book["position"] > 0
    # Trades page newest first, with a cursor to older ones, and no trade twice
    first = client.get("/v1/markets/SOL-PERP/trades", params={"limit": 10}).json()
    second = client.get("/v1/markets/SOL-PERP/trades",
                        params={"limit": 10, "cursor": first["next_cursor"]}).json()
    ids = [t["trade_id"] for t in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 20
    # Candles at every resolution agree on total volume
    volumes = set()
    for resolution in ("1m", "5m", "15m", "1h", "4h", "1d"):
        rows = client.get("/v1/markets/SOL-PERP/candles",
                          params={"resolution": resolution, "limit": 1000}).json()
        volumes.add(sum(int(c["base_volume"]) for c in rows))
    assert len(volumes) == 1
    assert client.get("/v1/markets/SOL-PERP/funding").json()["items"][0]["rate"] == 125_000
    assert client.get("/v1/insurance-fund").json()["items"][0]["balance"] == 1_002_500
    assert {s["projector"] for s in client.get("/v1/status").json()} >= {"trades", "book"}


def test_account_reads_need_the_owners_token(client, sample):
    owner = OWNERS[0]
    # Without a token: 401; with another wallet's token: 403
    assert client.get(f"/v1/accounts/{owner}/0").status_code == 401
    assert client.get(f"/v1/accounts/{owner}/0", headers=sign_in(client, 1)).status_code == 403
    headers = sign_in(client, 0)
    state = client.get(f"/v1/accounts/{owner}/0", headers=headers).json()
    assert state["balances"][0]["asset"] == "USDC"
    for path in ("positions", "positions/history", "orders", "fills", "transfers",
                 "funding-payments", "pnl", "liquidations"):
        reply = client.get(f"/v1/accounts/{owner}/0/{path}", headers=headers)
        assert reply.status_code == 200, (path, reply.text)
    open_orders = client.get(f"/v1/accounts/{owner}/0/orders", params={"status": "open"},
                             headers=headers).json()["items"]
    assert all(o["status"] in ("open", "partially_filled") for o in open_orders)


def test_as_of_queries_replay_the_accounts_past(client, sample):
    owner, headers = OWNERS[0], sign_in(client, 0)
    # The deposit is the owner's first balance change; right after it the account held exactly it
    deposit = next(e for e in sample if e.type == "Deposited" and e.key == owner)
    then = client.get(f"/v1/accounts/{owner}/0", params={"as_of_seq": deposit.position},
                      headers=headers).json()
    assert then["balances"] == [{"account": f"{owner}/0", "asset": "USDC",
                                 "amount": deposit.payload["amount"], "position": deposit.position}]
    assert then["positions"] == []
    # As of the last event, the as-of answer equals the current state
    now = client.get(f"/v1/accounts/{owner}/0", headers=headers).json()
    latest = client.get(f"/v1/accounts/{owner}/0", params={"as_of_seq": sample[-1].position},
                        headers=headers).json()
    assert latest["balances"] == now["balances"] and latest["positions"] == now["positions"]


def test_liquidation_explained_and_receipts_by_client_id(client, sample):
    owner, headers = OWNERS[2], sign_in(client, 2)
    liquidation = client.get(f"/v1/accounts/{owner}/0/liquidations", headers=headers).json()["items"][0]
    assert liquidation["inputs"]["oracle_price"] == 95_010_000
    assert "margin ratio 280 bps" in liquidation["explanation"]
    receipt = client.get(f"/v1/receipts/{owner}/client-cmd-2", headers=headers).json()
    assert receipt["outcome"] == "rejected" and receipt["reason_code"] == "InsufficientMargin"
    assert client.get(f"/v1/receipts/{owner}/nope", headers=headers).status_code == 404


def test_read_your_writes_waits_then_answers_not_caught_up(client, sample):
    last = sample[-1].position
    assert client.get("/v1/markets/SOL-PERP/trades", params={"min_seq": 1}).status_code == 200
    reply = client.get("/v1/markets/SOL-PERP/trades", params={"min_seq": last + 1000, "wait_ms": 50})
    assert reply.status_code == 409
    assert reply.json()["error"] == "NotCaughtUp" and reply.headers["Retry-After"] == "1"
