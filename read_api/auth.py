"""Sign-In With Solana: a server nonce, signed by the wallet's ed25519 key, buys a short token.

1. GET /v1/auth/nonce?wallet=<pubkey> -> a message naming the wallet, a one-time nonce and an
   expiry. 2. The wallet signs the message bytes. 3. POST /v1/auth/token {wallet, nonce,
   signature (base58)} -> a bearer token (HMAC-SHA256 over wallet and expiry; expires after
   `token_ttl_seconds`). The nonce is self-authenticating (issued-at, expiry, random part and
   an HMAC binding them to the wallet), so any worker sharing the secret can check it; it is
   redeemed once across all workers through a shared ledger (nonces.py, a table in the read
   store).
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
from read_api.nonces import MemoryNonceLedger, NonceLedger
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

    def __init__(self, settings: Settings, ledger: NonceLedger | None = None) -> None:
        self.settings = settings
        self.ledger = ledger or MemoryNonceLedger()  # the app passes the read store's

    def challenge(self, wallet: str, now: float | None = None) -> Challenge:
        if not valid_wallet(wallet):
            raise ClientError(400, "InvalidWallet", "wallet must be a base58 ed25519 public key")
        issued = int(now or time.time())
        expires = issued + self.settings.nonce_ttl_seconds
        body = f"{issued}.{expires}.{secrets.token_hex(8)}"
        nonce = f"{body}.{self._mac(f'nonce|{wallet}|{body}')[:32]}"
        return Challenge(wallet, nonce, self._message(wallet, nonce, issued, expires), expires)

    def _message(self, wallet: str, nonce: str, issued: int, expires: int) -> str:
        return (f"{self.settings.domain} wants you to sign in with your Solana account:\n{wallet}\n\n"
                f"Nonce: {nonce}\nIssued At: {issued}\nExpiration Time: {expires}")

    async def sign_in(self, wallet: str, nonce: str, signature: str,
                      now: float | None = None) -> tuple[str, int]:
        """Check the signed challenge and redeem its nonce; returns (token, expires_at)."""
        now = int(now or time.time())
        nonce_expires = self._check_signed(wallet, nonce, signature, now)
        if not await self.ledger.redeem(nonce, nonce_expires, now):
            raise _invalid_nonce()
        expires = now + self.settings.token_ttl_seconds
        return self._token(wallet, expires), expires

    def _check_signed(self, wallet: str, nonce: str, signature: str, now: int) -> int:
        """The nonce's expiry, if it is ours, for this wallet, unexpired and signed by it."""
        parts = nonce.split(".")
        genuine = (len(parts) == 4 and hmac.compare_digest(
            parts[3], self._mac(f"nonce|{wallet}|{'.'.join(parts[:3])}")[:32]))
        if not genuine or not parts[0].isdigit() or not parts[1].isdigit() or int(parts[1]) < now:
            raise _invalid_nonce()
        message = self._message(wallet, nonce, int(parts[0]), int(parts[1]))
        try:
            valid = Signature.from_string(signature).verify(Pubkey.from_string(wallet), message.encode())
        except (ValueError, TypeError):
            valid = False
        if not valid:
            raise ClientError(401, "InvalidSignature", "the signature does not verify for this wallet")
        return int(parts[1])

    def _mac(self, text: str) -> str:
        return hmac.new(self.settings.token_secret, text.encode(), hashlib.sha256).hexdigest()

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


def _invalid_nonce() -> ClientError:
    return ClientError(401, "InvalidNonce", "unknown, used or expired nonce for this wallet")
