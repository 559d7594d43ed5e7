"""Start-up settings of the read API (one object, built once by the bootstrap)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

MAX_INT64 = 2**63 - 1


@dataclass(frozen=True)
class RateTier:
    """A token bucket: `rate` requests per second sustained, `burst` at once."""

    rate: float
    burst: int


@dataclass(frozen=True)
class Settings:
    dsn: str
    token_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    token_ttl_seconds: int = 900  # short-lived session tokens
    nonce_ttl_seconds: int = 300
    domain: str = "quantdesk.local"
    # Tiers: anonymous callers are limited per IP; signed-in callers per wallet key.
    tiers: dict[str, RateTier] = field(default_factory=lambda: {
        "anonymous": RateTier(rate=50.0, burst=100),
        "authenticated": RateTier(rate=200.0, burst=400),
        "market_maker": RateTier(rate=2000.0, burst=4000),
    })
    market_makers: frozenset[str] = frozenset()  # wallets on the market-maker tier
    max_wait_ms: int = 5000  # the longest a `min_seq` request may wait for the projections
    stream_poll_seconds: float = 0.05  # how often a WebSocket stream looks for new rows
    pool_size: int = 8
