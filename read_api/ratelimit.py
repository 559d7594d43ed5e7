"""Tiered token-bucket rate limits: per IP for anonymous callers, per wallet key once signed in.

A refused request gets 429 with `Retry-After` (seconds until one token is back). Buckets live
in this process's memory (one API process per host; a fleet would share them, e.g. in Redis).
"""

from __future__ import annotations

import math
import time

from read_api.settings import RateTier


class RateLimiter:
    def __init__(self, tiers: dict[str, RateTier]) -> None:
        self.tiers = tiers
        self.buckets: dict[tuple[str, str], list[float]] = {}  # (tier, key) -> [tokens, at]

    def check(self, tier: str, key: str, now: float | None = None) -> float:
        """Take one token; returns 0 when allowed, else the seconds to wait."""
        now = now if now is not None else time.monotonic()
        limits = self.tiers[tier]
        bucket = self.buckets.get((tier, key))
        if bucket is None:
            if len(self.buckets) > 100_000:
                self.buckets.clear()  # bounded memory under a flood of new keys
            bucket = self.buckets[(tier, key)] = [float(limits.burst), now]
        tokens = min(limits.burst, bucket[0] + (now - bucket[1]) * limits.rate)
        bucket[1] = now
        if tokens >= 1:
            bucket[0] = tokens - 1
            return 0.0
        bucket[0] = tokens
        return (1 - tokens) / limits.rate


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
