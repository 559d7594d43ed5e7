"""Several RPC providers behind one interface: health checks, failover and a circuit breaker.

``FailoverRpc.call(operation)`` runs ``operation(client)`` on the first endpoint whose breaker is
closed (or half-open), in configured order. A transport failure (connection refused, timeout,
HTTP error) counts against that endpoint and the call moves on to the next; an answer from the
node that is an error (``RPCException``, e.g. a preflight failure) is returned to the caller
as is: the node is healthy, the request was not. Re-sending a signed transaction to another
endpoint is safe: the signature de-duplicates it and settle_batch's sequence check makes a
batch land once.
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient

T = TypeVar("T")
TRANSPORT_ERRORS = (SolanaRpcException, httpx.HTTPError, OSError, TimeoutError)


class AllEndpointsFailed(Exception):
    """Every endpoint was open-circuited or failed at transport level."""


@dataclass
class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; lets one trial through after ``cooldown``."""

    threshold: int
    cooldown_seconds: float
    clock: Callable[[], float]
    failures: int = 0
    opened_at: float | None = None

    def allows(self) -> bool:
        """True when closed, or half-open (cooldown elapsed: one trial call allowed)."""
        return self.opened_at is None or self.clock() - self.opened_at >= self.cooldown_seconds

    def record_success(self) -> None:
        self.failures, self.opened_at = 0, None

    def record_failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = self.clock()

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.allows() else "open"


@dataclass
class Endpoint:
    url: str
    client: AsyncClient
    breaker: CircuitBreaker
    healthy: bool = True


@dataclass
class FailoverRpc:
    """Ordered RPC endpoints with per-endpoint circuit breakers."""

    urls: list[str]
    failure_threshold: int = 3
    cooldown_seconds: float = 10.0
    timeout_seconds: float = 5.0
    clock: Callable[[], float] = time.monotonic
    endpoints: list[Endpoint] = field(init=False)
    last_used: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.endpoints = [
            Endpoint(url, AsyncClient(url, timeout=self.timeout_seconds),
                     CircuitBreaker(self.failure_threshold, self.cooldown_seconds, self.clock))
            for url in self.urls]

    async def call(self, operation: Callable[[AsyncClient], Awaitable[T]]) -> T:
        """Run ``operation`` on the first usable endpoint, failing over on transport errors."""
        failures = []
        for endpoint in sorted(self.endpoints, key=lambda e: not e.healthy):
            if not endpoint.breaker.allows():
                failures.append(f"{endpoint.url}: circuit open")
                continue
            try:
                result = await operation(endpoint.client)
            except TRANSPORT_ERRORS as error:
                endpoint.breaker.record_failure()
                failures.append(f"{endpoint.url}: {type(error).__name__}")
                continue
            endpoint.breaker.record_success()
            self.last_used = endpoint.url
            return result
        raise AllEndpointsFailed("; ".join(failures))

    async def check_health(self) -> dict[str, bool]:
        """Ask every endpoint getHealth; unhealthy ones are tried last and count a failure."""
        report = {}
        for endpoint in self.endpoints:
            try:
                endpoint.healthy = await endpoint.client.is_connected()
            except TRANSPORT_ERRORS:
                endpoint.healthy = False
            if endpoint.healthy:
                endpoint.breaker.record_success()
            else:
                endpoint.breaker.record_failure()
            report[endpoint.url] = endpoint.healthy
        return report

    async def close(self) -> None:
        for endpoint in self.endpoints:
            await endpoint.client.close()
