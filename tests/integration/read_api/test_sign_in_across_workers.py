"""Several read API processes serve behind one address: a sign-in nonce buys one token in all."""

from __future__ import annotations

from fastapi.testclient import TestClient

from projections.sample import owner_keypair
from read_api.app import create_app
from tests.integration.read_api.conftest import make_settings


def test_a_nonce_redeemed_at_one_worker_is_refused_at_another(read_store_dsn):
    # Two apps on one read store with one token secret: two workers behind one port.
    secret = b"s" * 32
    first = TestClient(create_app(make_settings(read_store_dsn, token_secret=secret)))
    second = TestClient(create_app(make_settings(read_store_dsn, token_secret=secret)))
    with first, second:
        keypair = owner_keypair(0)
        wallet = str(keypair.pubkey())
        challenge = first.get("/v1/auth/nonce", params={"wallet": wallet}).json()
        signed = {"wallet": wallet, "nonce": challenge["nonce"],
                  "signature": str(keypair.sign_message(challenge["message"].encode()))}

        # The nonce is redeemed at the first worker; its token is good at the second.
        token = first.post("/v1/auth/token", json=signed).json()["token"]
        account = second.get(f"/v1/accounts/{wallet}/0", headers={"Authorization": f"Bearer {token}"})
        assert account.status_code == 200, account.text

        # Replaying the same signed nonce at the second worker buys nothing.
        replay = second.post("/v1/auth/token", json=signed)
        assert replay.status_code == 401
        assert replay.json()["error"] == "InvalidNonce"
