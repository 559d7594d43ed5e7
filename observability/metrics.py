"""Prometheus metrics of every QuantDesk service, one registry per service process.

Every metric is named here, so dashboards and alerts have one list to read. A service builds its
own set once in its bootstrap (``metrics = EngineMetrics()``) and passes it to the health server
(:func:`observability.health.start_health_server`), which serves ``/metrics`` from its registry.

Names (all prefixed ``qd_``; units in the name, as Prometheus asks):

    engine      qd_commands_total{outcome,reason}   commands answered (reason "" when accepted)
                qd_engine_batch_size                commands per applied batch (histogram)
                qd_engine_commit_seconds            one batch's PostgreSQL commit (histogram)
                qd_engine_committed_position        commands-stream sequence committed (gauge)
                qd_engine_leader                    1 on the engine holding the lease, 0 on a standby
    relay       qd_relay_published_total            events published and acknowledged
                qd_relay_position                   last log position published (gauge)
                qd_relay_lag_events                 store's last position - published position
    projector   qd_projection_events_total{projector}
                qd_projection_batch_size{projector}          (histogram)
                qd_projection_position{projector}            last log position applied (gauge)
                qd_projection_lag_events{projector}          events stream head - applied position
                qd_projection_lag_seconds{projector}         age of the last applied event
    read API    qd_api_request_seconds{route,method,status}  (histogram; route = the template)
    settler     qd_settlement_batches_total{outcome}         batches landed / failed on chain
                qd_settlement_batch_accounts                 accounts per batch (histogram)
    price feed  qd_oracle_valid{market}                      1 while the oracle price is valid
                qd_oracle_price_age_seconds{market}
    watcher     qd_deposits_seen_total                       deposits turned into commands
                qd_deposit_watcher_slot_lag                  chain tip slot - last scanned slot
    every one   qd_build_info{service,version}               always 1

Known limit: metrics are per process; counts across processes (several projectors or read API
processes) are summed by Prometheus queries (``sum by (route)``), never here.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Buckets: command batches run 1..5000; commits and API calls are milliseconds to a second.
BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
SECONDS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
ACCOUNTS_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 69, 128)


class ServiceMetrics:
    """A registry of one service's own metrics, with its build info set."""

    service = "service"

    def __init__(self, version: str = "dev") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        Gauge("qd_build_info", "Build of this process (always 1).", ["service", "version"],
              registry=self.registry).labels(self.service, version).set(1)

    def counter(self, name: str, documentation: str, labels: tuple[str, ...] = ()) -> Counter:
        return Counter(name, documentation, list(labels), registry=self.registry)

    def gauge(self, name: str, documentation: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(name, documentation, list(labels), registry=self.registry)

    def histogram(self, name: str, documentation: str, buckets, labels: tuple[str, ...] = ()) -> Histogram:
        return Histogram(name, documentation, list(labels), buckets=buckets, registry=self.registry)


class EngineMetrics(ServiceMetrics):
    service = "engine"

    def __init__(self, version: str = "dev") -> None:
        super().__init__(version)
        self.commands = self.counter("qd_commands", "Commands answered, by outcome and reason code.",
                                     ("outcome", "reason"))
        self.batch_size = self.histogram("qd_engine_batch_size", "Commands per applied batch.",
                                         BATCH_BUCKETS)
        self.commit_seconds = self.histogram("qd_engine_commit_seconds",
                                             "Time to commit one batch to the event store.",
                                             SECONDS_BUCKETS)
        self.committed_position = self.gauge("qd_engine_committed_position",
                                             "Commands-stream sequence committed to the store.")
        self.leader = self.gauge("qd_engine_leader", "1 while this engine holds the lease.")

    def command_answered(self, accepted: bool, reason: str = "") -> None:
        """Count one command's outcome (reason codes are a closed set, so labels stay bounded)."""
        self.commands.labels("accepted" if accepted else "rejected", "" if accepted else reason).inc()

    def batch_committed(self, size: int, seconds: float, position: int) -> None:
        """Record one committed batch."""
        self.batch_size.observe(size)
        self.commit_seconds.observe(seconds)
        self.committed_position.set(position)


class RelayMetrics(ServiceMetrics):
    service = "relay"

    def __init__(self, version: str = "dev") -> None:
        super().__init__(version)
        self.published = self.counter("qd_relay_published", "Events published and acknowledged.")
        self.position = self.gauge("qd_relay_position", "Last log position published.")
        self.lag_events = self.gauge("qd_relay_lag_events",
                                     "Store's last log position minus the last published one.")

    def published_through(self, position: int, count: int, store_last_position: int | None = None) -> None:
        """Record a confirmed window of `count` events ending at `position`."""
        self.published.inc(count)
        self.position.set(position)
        if store_last_position is not None:
            self.lag_events.set(max(0, store_last_position - position))


class ProjectorMetrics(ServiceMetrics):
    service = "projector"

    def __init__(self, version: str = "dev") -> None:
        super().__init__(version)
        self.events = self.counter("qd_projection_events", "Events applied to read models.", ("projector",))
        self.batch_size = self.histogram("qd_projection_batch_size", "Events per projected batch.",
                                         BATCH_BUCKETS, ("projector",))
        self.position = self.gauge("qd_projection_position", "Last log position applied.", ("projector",))
        self.lag_events = self.gauge("qd_projection_lag_events",
                                     "Events stream head minus the last applied event.", ("projector",))
        self.lag_seconds = self.gauge("qd_projection_lag_seconds",
                                      "Age of the last applied event when applied.", ("projector",))

    def batch_applied(self, projector: str, count: int, position: int, *,
                      head_position: int | None = None, lag_seconds: float | None = None) -> None:
        """Record one applied batch of `projector`."""
        self.events.labels(projector).inc(count)
        self.batch_size.labels(projector).observe(count)
        self.position.labels(projector).set(position)
        if head_position is not None:
            self.lag_events.labels(projector).set(max(0, head_position - position))
        if lag_seconds is not None:
            self.lag_seconds.labels(projector).set(max(0.0, lag_seconds))


class ReadApiMetrics(ServiceMetrics):
    service = "read-api"

    def __init__(self, version: str = "dev") -> None:
        super().__init__(version)
        self.request_seconds = self.histogram("qd_api_request_seconds", "Read API latency by route.",
                                              SECONDS_BUCKETS, ("route", "method", "status"))


class SettlerMetrics(ServiceMetrics):
    service = "settler"

    def __init__(self, version: str = "dev") -> None:
        super().__init__(version)
        self.batches = self.counter("qd_settlement_batches", "Settlement batches, by outcome.", ("outcome",))
        self.batch_accounts = self.histogram("qd_settlement_batch_accounts", "Accounts per batch.",
                                             ACCOUNTS_BUCKETS)

    def batch_settled(self, accounts: int, landed: bool) -> None:
        """Record one settlement batch sent on chain."""
        self.batches.labels("landed" if landed else "failed").inc()
        self.batch_accounts.observe(accounts)


class PriceFeedMetrics(ServiceMetrics):
    service = "price-feed"

    def __init__(self, version: str = "dev") -> None:
        super().__init__(version)
        self.oracle_valid = self.gauge("qd_oracle_valid", "1 while the market's oracle price is valid.",
                                       ("market",))
        self.price_age = self.gauge("qd_oracle_price_age_seconds", "Age of the latest oracle price.",
                                    ("market",))

    def oracle_checked(self, market: str, valid: bool, age_seconds: float) -> None:
        """Record one validity check of a market's oracle."""
        self.oracle_valid.labels(market).set(1 if valid else 0)
        self.price_age.labels(market).set(age_seconds)


class DepositWatcherMetrics(ServiceMetrics):
    service = "deposit-watcher"

    def __init__(self, version: str = "dev") -> None:
        super().__init__(version)
        self.deposits = self.counter("qd_deposits_seen", "On-chain deposits turned into commands.")
        self.slot_lag = self.gauge("qd_deposit_watcher_slot_lag", "Chain tip slot minus last scanned slot.")


METRICS_BY_SERVICE: dict[str, type[ServiceMetrics]] = {cls.service: cls for cls in (
    EngineMetrics, RelayMetrics, ProjectorMetrics, ReadApiMetrics, SettlerMetrics,
    PriceFeedMetrics, DepositWatcherMetrics)}
