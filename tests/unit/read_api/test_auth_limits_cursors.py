"""Sign-In With Solana, rate-limit buckets and cursors, in memory."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from solders.keypair import Keypair

from read_api.auth import Authenticator
from read_api.errors import ClientError
from read_api.pagination import decode_cursor, encode_cursor
from read_api.ratelimit import RateLimiter
from read_api.settings import RateTier, Settings


def signed(authenticator: Authenticator, keypair: Keypair, now: float = 1_000_000):
    challenge = authenticator.challenge(str(keypair.pubkey()), now=now)
    return challenge, str(keypair.sign_message(challenge.message.encode()))


async def test_a_wallet_signs_the_nonce_and_gets_a_short_lived_token():
    authenticator, keypair = Authenticator(Settings(dsn="")), Keypair()
    challenge, signature = signed(authenticator, keypair)
    token, expires = await authenticator.sign_in(str(keypair.pubkey()), challenge.nonce, signature, now=1_000_010)
    assert authenticator.wallet_of(token, now=1_000_020) == str(keypair.pubkey())
    assert expires == 1_000_010 + 900
    with pytest.raises(ClientError, match="expired"):
        authenticator.wallet_of(token, now=expires + 1)
    with pytest.raises(ClientError) as tampered:
        authenticator.wallet_of(token[:-1] + ("0" if token[-1] != "0" else "1"))
    assert tampered.value.code == "InvalidToken"


async def test_nonces_are_single_use_bound_to_the_wallet_and_expire():
    authenticator, keypair, other = Authenticator(Settings(dsn="")), Keypair(), Keypair()
    challenge, signature = signed(authenticator, keypair)
    with pytest.raises(ClientError):  # another wallet cannot use it
        await authenticator.sign_in(str(other.pubkey()), challenge.nonce, signature, now=1_000_001)
    challenge, signature = signed(authenticator, keypair)
    await authenticator.sign_in(str(keypair.pubkey()), challenge.nonce, signature, now=1_000_001)
    with pytest.raises(ClientError, match="nonce"):  # used once
        await authenticator.sign_in(str(keypair.pubkey()), challenge.nonce, signature, now=1_000_002)
    challenge, signature = signed(authenticator, keypair)
    with pytest.raises(ClientError, match="nonce"):  # expired
        await authenticator.sign_in(str(keypair.pubkey()), challenge.nonce, signature, now=1_000_000 + 301)
    challenge, _ = signed(authenticator, keypair)
    _, other_signature = signed(authenticator, other)
    with pytest.raises(ClientError, match="signature"):  # someone else's signature
        await authenticator.sign_in(str(keypair.pubkey()), challenge.nonce, other_signature, now=1_000_001)


def test_token_bucket_allows_the_burst_then_asks_to_wait():
    limiter = RateLimiter({"anonymous": RateTier(rate=2.0, burst=3)})
    assert [limiter.check("anonymous", "ip", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.check("anonymous", "ip", now=0.0) == pytest.approx(0.5)
    assert limiter.check("anonymous", "other-ip", now=0.0) == 0.0  # per key
    assert limiter.check("anonymous", "ip", now=0.5) == 0.0  # refilled at `rate`


@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), min_size=1, max_size=3))
def test_cursors_round_trip(key):
    assert decode_cursor(encode_cursor(*key), len(key)) == key


@given(st.text(max_size=40))
def test_any_other_cursor_is_a_clear_400(text):
    try:
        decode_cursor(text)
    except ClientError as error:
        assert error.status == 400 and error.code == "InvalidCursor"
