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
    settler     qd_settlement_batches_total{outcome}         proposed / landed / failed / replayed
                qd_settlement_batch_accounts                 accounts per landed batch (histogram)
                qd_settlement_accounts_total                 accounts settled
                qd_settlement_position                       log position settled through (gauge)
                qd_settlement_log_position                   last account event position received
                qd_settlement_lag_events                     received - settled (0 when nothing pending)
    price feed  qd_oracle_prices_published_total{market,outcome}  accepted / refused / rejected / failed
                qd_oracle_valid{market}                      1 while the oracle price is valid
                qd_oracle_validity{market,state}             1 for the current state (Valid, Stale...)
                qd_oracle_price_age_seconds{market}          age of the last accepted price
    watcher     qd_deposits_seen_total                       deposits turned into commands
                qd_deposits_credited_total                   ... credited by the engine
                qd_deposits_duplicate_total                  ... answered as already credited
                qd_deposits_rejected_total{reason}           ... not credited
                qd_deposit_watcher_rpc_errors_total          polls failed on JSON-RPC
                qd_deposit_watcher_scanned_slot              finalized slot credited through
                qd_deposit_watcher_slot_lag                  chain tip slot - last scanned slot
                qd_deposit_watcher_last_signature{signature} 1 (the cursor)
    keeper      qd_keeper_sweeps_total{outcome,reason}       RunRiskSweep answered
                qd_keeper_liquidation_sweeps_total{outcome,reason}  ... of them liquidating
                qd_keeper_funding_settlements_total{outcome,reason}
                qd_keeper_last_sweep_timestamp_seconds
    every one   qd_build_info{service,version}               always 1

Known limit: metrics are per process; counts across processes (several projectors or read API
processes) are summed by Prometheus queries (``sum by (route)``), never here.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from domain import oracle_validity
from observability.oracle_seen import ORACLE_STATES, OracleSeen

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
        self.log_position = self.gauge("qd_engine_log_position",
                                       "Store position (notification id) of the last committed event.")
        self.leader = self.gauge("qd_engine_leader", "1 while this engine holds the lease.")
        self.leading = False

    def set_leading(self, leading: bool) -> None:
        """Whether this process leads (the gauge, and a flag readiness checks read)."""
        self.leading = leading
        self.leader.set(1 if leading else 0)

    def command_answered(self, accepted: bool, reason: str = "") -> None:
        """Count one command's outcome (reason codes are a closed set, so labels stay bounded)."""
        self.commands.labels("accepted" if accepted else "rejected", "" if accepted else reason).inc()

    def batch_committed(self, size: int, seconds: float, position: int, log_position: int = 0) -> None:
        """Record one committed batch."""
        self.batch_size.observe(size)
        self.commit_seconds.observe(seconds)
        self.committed_position.set(position)
        if log_position:
            self.log_position.set(log_position)


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
        self.accounts = self.counter("qd_settlement_accounts", "Accounts settled (one per landed batch touching it).")
        self.settled_position = self.gauge("qd_settlement_position",
                                           "Log position through which everything is settled on chain.")
        self.log_position = self.gauge("qd_settlement_log_position", "Last account event's log position received.")
        self.lag_events = self.gauge("qd_settlement_lag_events",
                                     "Log positions received but not yet settled (0 when nothing is pending).")
        for outcome in BATCH_OUTCOMES:
            self.batches.labels(outcome)  # every outcome shows from the start, at 0
        self.received, self.settled = 0, 0

    def batch_proposed(self) -> None:
        """A batch was recorded as proposed in the log (it is sent next)."""
        self.batches.labels("proposed").inc()

    def batch_settled(self, accounts: int, landed: bool, position: int | None = None) -> None:
        """Record one settlement batch sent on chain: landed (through `position`) or failed."""
        self.batches.labels("landed" if landed else "failed").inc()
        if landed:
            self.batch_accounts.observe(accounts)
            self.accounts.inc(accounts)
        if landed and position is not None:
            self.settled_through(position)

    def batch_replayed(self) -> None:
        """The chain already had the batch's sequence (a twin of ours landed it)."""
        self.batches.labels("replayed").inc()

    def settled_through(self, position: int) -> None:
        """Everything up to `position` is settled (after a batch, or after reconciling)."""
        self.settled = position
        self.settled_position.set(position)
        self.lag_events.set(max(0, self.received - position))

    def event_received(self, position: int, pending: bool = True) -> None:
        """An account event at `position` arrived; `pending`: some money movement awaits a batch."""
        self.received = max(position, self.received)
        self.log_position.set(self.received)
        self.lag_events.set(max(0, position - self.settled) if pending else 0)


BATCH_OUTCOMES = ("proposed", "landed", "failed", "replayed")


class PriceFeedMetrics(ServiceMetrics):
    """The feed's prices, and each oracle's validity as the engine's rules judge what it accepted.

    Validity (``qd_oracle_validity{market,state}`` = 1 for the current state, 0 for the others,
    ``qd_oracle_valid{market}`` = 1 while Valid) is computed at scrape time, so a feed that stops
    publishing shows its oracles going stale. ``market`` is the oracle's symbol (``SOL``: the
    underlying every ``SOL-*`` market is priced on)."""

    service = "price-feed"

    def __init__(self, version: str = "dev", clock_ns=time.time_ns) -> None:
        super().__init__(version)
        self.clock_ns = clock_ns
        self.oracles: dict[str, OracleSeen] = {}
        self.published = self.counter("qd_oracle_prices_published", "Price commands sent, by market and outcome.",
                                      ("market", "outcome"))
        self.oracle_valid = self.gauge("qd_oracle_valid", "1 while the market's oracle price is valid.",
                                       ("market",))
        self.price_age = self.gauge("qd_oracle_price_age_seconds", "Age of the latest accepted oracle price.",
                                    ("market",))
        self.validity = self.gauge("qd_oracle_validity", "1 for the oracle's current validity state.",
                                   ("market", "state"))

    def oracle_checked(self, market: str, valid: bool, age_seconds: float) -> None:
        """Record one validity check of a market's oracle (a fixed value, not followed)."""
        self.oracle_valid.labels(market).set(1 if valid else 0)
        self.price_age.labels(market).set(age_seconds)

    def price_answered(self, market: str, price: int, confidence: int, exponent: int, publish_time: int,
                       outcome: str) -> None:
        """One SetOraclePrice answered: accepted, rejected (by the engine) or failed (not answered)."""
        seen = self.oracles.get(market)
        if seen is None:
            seen = self.oracles[market] = OracleSeen()
            self._follow(market, seen)
        if outcome == "accepted":
            outcome = seen.accepted(price, confidence, exponent, publish_time)
        self.published.labels(market, outcome).inc()

    def _follow(self, market: str, seen: OracleSeen) -> None:
        self.oracle_valid.labels(market).set_function(lambda: seen.state(self.clock_ns()) == oracle_validity.VALID)
        self.price_age.labels(market).set_function(lambda: seen.age_seconds(self.clock_ns()))
        for state in ORACLE_STATES:
            self.validity.labels(market, state).set_function(
                lambda state=state: seen.state(self.clock_ns()) == state)


class DepositWatcherMetrics(ServiceMetrics):
    service = "deposit-watcher"

    def __init__(self, version: str = "dev") -> None:
        super().__init__(version)
        self.deposits = self.counter("qd_deposits_seen", "On-chain deposits turned into commands.")
        self.credited = self.counter("qd_deposits_credited", "Deposits the engine credited.")
        self.duplicates = self.counter("qd_deposits_duplicate", "Deposits answered as already credited (re-read).")
        self.rejected = self.counter("qd_deposits_rejected", "Deposits not credited, by reason.", ("reason",))
        self.rpc_errors = self.counter("qd_deposit_watcher_rpc_errors", "Polls that failed on the JSON-RPC side.")
        self.scanned_slot = self.gauge("qd_deposit_watcher_scanned_slot",
                                       "Finalized slot through which every deposit is credited.")
        self.slot_lag = self.gauge("qd_deposit_watcher_slot_lag", "Chain tip slot minus last scanned slot.")
        self.last_signature = self.gauge("qd_deposit_watcher_last_signature",
                                         "1, labelled with the last fully credited signature.", ("signature",))
        self.scanned = 0

    def deposit_answered(self, accepted: bool, duplicate: bool, reason: str = "") -> None:
        """One deposit turned into a command and answered (or refused before sending: reason)."""
        self.deposits.inc()
        if duplicate:
            self.duplicates.inc()
        elif accepted:
            self.credited.inc()
        else:
            self.rejected.labels(reason).inc()

    def poll_started(self, tip_slot: int) -> None:
        """A poll saw the finalized tip at `tip_slot`."""
        self.slot_lag.set(max(0, tip_slot - self.scanned) if self.scanned else 0)

    def poll_completed(self, tip_slot: int) -> None:
        """Every deposit finalized at or before `tip_slot` is credited."""
        self.scanned = tip_slot
        self.scanned_slot.set(tip_slot)
        self.slot_lag.set(0)

    def signature_credited(self, signature: str) -> None:
        """The cursor moved to `signature` (one series at a time)."""
        self.last_signature.clear()
        self.last_signature.labels(signature).set(1)


class KeeperMetrics(ServiceMetrics):
    service = "keeper"

    def __init__(self, version: str = "dev") -> None:
        super().__init__(version)
        self.sweeps = self.counter("qd_keeper_sweeps", "Risk sweeps sent, by outcome and reason.",
                                   ("outcome", "reason"))
        self.liquidations = self.counter("qd_keeper_liquidation_sweeps",
                                         "Liquidating sweeps sent (the keeper as liquidator), by outcome and reason.",
                                         ("outcome", "reason"))
        self.funding = self.counter("qd_keeper_funding_settlements", "Hourly funding settlements sent, by outcome.",
                                    ("outcome", "reason"))
        self.last_sweep = self.gauge("qd_keeper_last_sweep_timestamp_seconds", "When the last sweep was answered.")

    def sweep_answered(self, liquidate: bool, outcome: str, reason: str = "") -> None:
        """One RunRiskSweep answered: accepted, rejected (reason) or failed (no answer)."""
        self.sweeps.labels(outcome, reason).inc()
        if liquidate:
            self.liquidations.labels(outcome, reason).inc()
        if outcome != "failed":
            self.last_sweep.set_to_current_time()

    def funding_answered(self, outcome: str, reason: str = "") -> None:
        """One SettleFunding answered."""
        self.funding.labels(outcome, reason).inc()


def outcome_of(receipt) -> tuple[str, str]:
    """(outcome, reason) of a sender's answer: a receipt, or None when none came."""
    if receipt is None:
        return "failed", ""
    return ("accepted", "") if receipt.accepted else ("rejected", receipt.reason)


METRICS_BY_SERVICE: dict[str, type[ServiceMetrics]] = {cls.service: cls for cls in (
    EngineMetrics, RelayMetrics, ProjectorMetrics, ReadApiMetrics, SettlerMetrics,
    PriceFeedMetrics, DepositWatcherMetrics, KeeperMetrics)}
