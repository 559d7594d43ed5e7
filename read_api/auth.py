"""Sign-In With Solana: a server nonce, signed by the wallet's ed25519 key, buys a short token.

1. GET /v1/auth/nonce?wallet=<pubkey> -> a message naming the wallet, a one-time nonce and an
   expiry. 2. The wallet signs the message bytes. 3. POST /v1/auth/token {wallet, nonce,
   signature (base58)} -> a bearer token (HMAC-SHA256 over wallet and expiry; expires after
   `token_ttl_seconds`). A nonce is used once. Known limit: nonces live in this process's
   memory, so several API replicas need sticky sign-in (or a shared nonce store).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from solders.pubkey import Pubkey
from solders.signature import Signature

from read_api.errors import ClientError
from read_api.settings import Settings


@dataclass(frozen=True)
class Challenge:
    wallet: str
    nonce: str
    message: str
    expires_at: int


def valid_wallet(wallet: str) -> bool:
    try:
        Pubkey.from_string(wallet)
        return True
    except (ValueError, TypeError):
        return False


class Authenticator:
    """Issues nonces and tokens; verifies signatures and tokens."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.challenges: dict[str, Challenge] = {}

    def challenge(self, wallet: str, now: float | None = None) -> Challenge:
        if not valid_wallet(wallet):
            raise ClientError(400, "InvalidWallet", "wallet must be a base58 ed25519 public key")
        now = int(now or time.time())
        self._forget_expired(now)
        nonce = secrets.token_hex(16)
        expires = now + self.settings.nonce_ttl_seconds
        message = (f"{self.settings.domain} wants you to sign in with your Solana account:\n{wallet}\n\n"
                   f"Nonce: {nonce}\nIssued At: {now}\nExpiration Time: {expires}")
        self.challenges[nonce] = Challenge(wallet, nonce, message, expires)
        return self.challenges[nonce]

    def sign_in(self, wallet: str, nonce: str, signature: str, now: float | None = None) -> tuple[str, int]:
        """Check the signed challenge; returns (token, expires_at)."""
        now = int(now or time.time())
        challenge = self.challenges.pop(nonce, None)
        if challenge is None or challenge.wallet != wallet or challenge.expires_at < now:
            raise ClientError(401, "InvalidNonce", "unknown, used or expired nonce for this wallet")
        try:
            valid = Signature.from_string(signature).verify(Pubkey.from_string(wallet),
                                                             challenge.message.encode())
        except (ValueError, TypeError):
            valid = False
        if not valid:
            raise ClientError(401, "InvalidSignature", "the signature does not verify for this wallet")
        expires = now + self.settings.token_ttl_seconds
        return self._token(wallet, expires), expires

    def _token(self, wallet: str, expires: int) -> str:
        body = base64.urlsafe_b64encode(json.dumps([wallet, expires]).encode()).decode().rstrip("=")
        mac = hmac.new(self.settings.token_secret, body.encode(), hashlib.sha256).hexdigest()
        return f"{body}.{mac}"

    def wallet_of(self, token: str, now: float | None = None) -> str:
        """The wallet a valid, unexpired token was issued to; 401 otherwise."""
        body, _, mac = token.partition(".")
        expected = hmac.new(self.settings.token_secret, body.encode(), hashlib.sha256).hexdigest()
        if not mac or not hmac.compare_digest(mac, expected):
            raise ClientError(401, "InvalidToken", "token is malformed or not ours",
                              headers={"WWW-Authenticate": "Bearer"})
        wallet, expires = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        if expires < (now or time.time()):
            raise ClientError(401, "TokenExpired", "token expired: sign in again",
                              headers={"WWW-Authenticate": "Bearer"})
        return wallet

    def _forget_expired(self, now: int) -> None:
        if len(self.challenges) > 10_000:
            self.challenges = {n: c for n, c in self.challenges.items() if c.expires_at >= now}
