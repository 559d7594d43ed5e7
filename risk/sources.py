"""Price sources of the feed: a seeded synthetic walk, a recorded file, Pyth's Hermes service.

Each yields `PriceUpdate`s, Pyth-shaped (integer price and confidence, exponent, publish time in
ns). Sources may read the clock and the network (they are adapters); the domain never does.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx

# Pyth price feed ids (mainnet, USD quotes) of the assets we trade; override with --feed SYMBOL=ID.
PYTH_FEED_IDS = {
    "SOL": "ef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d",
    "BTC": "e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43",
    "ETH": "ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace",
}
SYNTHETIC_START = {"SOL": 100.0, "BTC": 60_000.0, "ETH": 3_000.0}
EXPONENT = -8


@dataclass(frozen=True, slots=True)
class PriceUpdate:
    """One price of one symbol: value = price x 10^exponent."""

    symbol: str
    price: int
    confidence: int
    exponent: int
    publish_time: int  # ns


class SyntheticWalk:
    """A seeded geometric random walk per symbol (deterministic for a seed): for `make run`."""

    def __init__(self, seed: int = 7, symbols: dict[str, float] | None = None, volatility: float = 0.001) -> None:
        self.random = random.Random(seed)
        self.levels = dict(symbols or SYNTHETIC_START)
        self.volatility = volatility

    def step(self, now_ns: int) -> list[PriceUpdate]:
        """One move of every symbol, published at `now_ns`."""
        updates = []
        for symbol in sorted(self.levels):
            self.levels[symbol] *= 1.0 + self.random.gauss(0.0, self.volatility)
            price = int(self.levels[symbol] * 10**-EXPONENT)
            updates.append(PriceUpdate(symbol, price, max(1, price // 2_000), EXPONENT, now_ns))
        return updates


def read_file(path: str | Path) -> Iterator[PriceUpdate]:
    """A recorded feed: one JSON object per line, {symbol, price, confidence, exponent,
    publish_time (ns)}; blank lines and lines starting with # are skipped."""
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        row = json.loads(line)
        try:
            yield PriceUpdate(str(row["symbol"]), int(row["price"]), int(row.get("confidence", 0)),
                              int(row.get("exponent", -6)), int(row["publish_time"]))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}:{number}: bad price line ({error})") from error


def parse_hermes(body: dict, symbols_by_id: dict[str, str]) -> list[PriceUpdate]:
    """Updates from a Hermes `/v2/updates/price/latest?parsed=true` answer (unknown ids skipped)."""
    updates = []
    for item in body.get("parsed") or []:
        symbol = symbols_by_id.get(str(item.get("id", "")).removeprefix("0x"))
        price = item.get("price") or {}
        if symbol is None or "price" not in price:
            continue
        updates.append(PriceUpdate(symbol, int(price["price"]), int(price.get("conf", 0)), int(price["expo"]),
                                   int(price["publish_time"]) * 1_000_000_000))
    return updates


class Hermes:
    """Polls Pyth Hermes for the latest prices of some feeds (HTTP; errors raise to the caller,
    which backs off)."""

    def __init__(self, url: str, feeds: dict[str, str] | None = None, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.feeds = dict(feeds or PYTH_FEED_IDS)
        self.symbols_by_id = {feed_id.removeprefix("0x"): symbol for symbol, feed_id in self.feeds.items()}
        self.client = httpx.AsyncClient(timeout=timeout)

    async def latest(self) -> list[PriceUpdate]:
        """The latest price of every feed."""
        params = [("ids[]", feed_id) for feed_id in self.feeds.values()] + [("parsed", "true")]
        response = await self.client.get(f"{self.url}/v2/updates/price/latest", params=params)
        response.raise_for_status()
        return parse_hermes(response.json(), self.symbols_by_id)

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self.client.aclose()


def now_ns() -> int:
    """Wall-clock time for publish times of synthetic prices (an adapter may read the clock)."""
    return time.time_ns()
