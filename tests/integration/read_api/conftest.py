"""A read store holding the projected sample session, and an API client over it."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from projections.offline import project_events
from projections.sample import owner_keypair, sample_events
from read_api.app import create_app
from read_api.settings import RateTier, Settings


@pytest.fixture(scope="module")
def sample():
    return sample_events(orders=150, seed=21)


@pytest.fixture(scope="module")
def read_store_dsn(postgres, sample) -> str:
    dsn = postgres.create_database(f"ra_{uuid.uuid4().hex[:10]}")
    project_events(dsn, sample)
    return dsn


def make_settings(dsn: str, **overrides) -> Settings:
    settings = Settings(dsn=dsn, **overrides)
    settings.tiers["anonymous"] = RateTier(rate=10_000, burst=10_000)
    settings.tiers["authenticated"] = RateTier(rate=10_000, burst=10_000)
    return settings


@pytest.fixture(scope="module")
def client(read_store_dsn):
    with TestClient(create_app(make_settings(read_store_dsn))) as test_client:
        yield test_client


def sign_in(client: TestClient, owner_index: int) -> dict:
    """Sign in as sample owner `owner_index` (SIWS) and return the Authorization header."""
    keypair = owner_keypair(owner_index)
    wallet = str(keypair.pubkey())
    challenge = client.get("/v1/auth/nonce", params={"wallet": wallet}).json()
    signature = keypair.sign_message(challenge["message"].encode())
    reply = client.post("/v1/auth/token", json={"wallet": wallet, "nonce": challenge["nonce"],
                                                "signature": str(signature)})
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['token']}"}
