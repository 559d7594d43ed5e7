"""`python -m deploy.production.launch <service>`: validate the environment, then run the service.

The production containers are configured by environment variables only. Until every service
reads ``deploy.settings`` itself, this launcher is the bridge: it loads the service's settings
class (exiting with every misconfigured ``QD_*`` variable named), turns them into the command-line
flags the service's real entry point takes today, and ``exec``s ``python -m <module> ...`` in its
place (same PID, signals go straight to the service).

Once a service builds its own settings, its entry here becomes ``(module, no flags)`` and the
compose command can call ``python -m <module>`` directly.

Known limits: the read API takes ``--pg`` on the command line, so its DSN is visible in the
container's process list (the engine, relay and projectors read ``QD_PG_DSN`` from the
environment and get no flag); and services take ONE NATS URL, so only the first of ``QD_NATS_URL`` is passed
(nats-py learns the other nodes from the server once connected, so reconnection still fails over).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from deploy import settings as s


@dataclass(frozen=True)
class Entry:
    """A service's real module and how its settings become its flags."""

    module: str
    settings: type[s.ServiceSettings]
    flags: Callable[[s.ServiceSettings], list[str]]


def _nats(c: s.NatsClientSettings) -> list[str]:
    # Every node, comma-separated: a service restarted while its first node is down needs another
    return ["--nats", ",".join(c.nats_servers)]


def _engine(c: s.EngineSettings) -> list[str]:
    flags = [*_nats(c), "--batch-size", str(c.engine_batch_size),
             "--verify-workers", str(c.engine_verify_workers),
             "--snapshot-every", str(c.engine_snapshot_every), "--log-level", c.log_level,
             "--command-rate", str(c.engine_command_rate), "--command-burst", str(c.engine_command_burst)]
    flags += [f for key in c.admin_pubkey for f in ("--admin", key)]
    flags += [f for key in c.deposit_pubkey for f in ("--deposit-watcher", key)]
    flags += [f for key in c.settler_pubkey for f in ("--settler", key)]
    return flags  # --pg and --admin-keyfile: the engine reads QD_PG_DSN and QD_ADMIN_KEYFILE itself


def _relay(c: s.RelaySettings) -> list[str]:
    # --pg: the relay reads QD_PG_DSN itself (kept off the process list).
    return [*_nats(c), "--window", str(c.relay_window),
            "--metrics-port", str(c.metrics_port)]


def _projector(c: s.ProjectorSettings) -> list[str]:
    # --pg: projections.run reads QD_PG_DSN itself (kept off the process list).
    return [c.projector, *_nats(c), "--batch", str(c.projector_batch),
            "--metrics-port", str(c.metrics_port), "--log-level", c.log_level,
            *(["--markets", ",".join(c.projector_markets)] if c.projector_markets else [])]


def _read_api(c: s.ReadApiSettings) -> list[str]:
    # QD_READ_API_TOKEN_SECRET is read by read_api from the environment it inherits.
    return ["--pg", c.pg_dsn.get_secret_value(), "--host", c.read_api_host,
            "--port", str(c.read_api_port), "--pool", str(c.read_api_pool),
            "--workers", str(c.read_api_workers),
            "--anonymous-rate", str(c.read_api_anonymous_rate),
            "--authenticated-rate", str(c.read_api_authenticated_rate),
            "--metrics-port", str(c.metrics_port), "--log-level", c.log_level]


def _chain(c: s.ChainSettings) -> list[str]:
    # Everything else the settler and the watcher read from the environment themselves.
    return [*_nats(c), "--metrics-port", str(c.metrics_port)]


def _price_feed(c: s.PriceFeedSettings) -> list[str]:
    source = ["hermes", c.price_hermes_url] if c.price_source == "pyth" else ["synthetic"]
    return [*_nats(c), "--admin-keyfile", str(c.price_feed_keypair),
            "--interval", str(c.price_interval), "--metrics-port", str(c.metrics_port), *source]


def _keeper(c: s.KeeperSettings) -> list[str]:
    return [*_nats(c), "--admin-keyfile", str(c.keeper_keypair),
            "--sweep-interval", str(c.keeper_sweep_interval), "--funding-delay", str(c.keeper_funding_delay),
            "--liquidate-every", str(c.keeper_liquidate_every), "--metrics-port", str(c.metrics_port),
            *(["--liquidate"] if c.keeper_liquidate else [])]


def _none(_: s.ServiceSettings) -> list[str]:
    return []


ENTRIES: dict[str, Entry] = {
    "streams": Entry("deploy.production.declare_streams", s.StreamsSettings, _none),
    # Every engine process runs under the lease (bus.standby): the first to take it leads.
    "engine": Entry("bus.standby", s.EngineSettings, _engine),
    "relay": Entry("bus.relay", s.RelaySettings, _relay),
    "projector": Entry("projections.run", s.ProjectorSettings, _projector),
    "read-api": Entry("read_api", s.ReadApiSettings, _read_api),
    "settler": Entry("onchain.settler", s.SettlerSettings, _chain),
    "deposit-watcher": Entry("onchain.watcher", s.DepositWatcherSettings, _chain),
    "price-feed": Entry("risk.feed", s.PriceFeedSettings, _price_feed),
    "keeper": Entry("risk.keeper", s.KeeperSettings, _keeper),
}


def command_for(service: str, environ: dict[str, str] | None = None) -> list[str]:
    """The validated `python -m <module> <flags>` argv of `service` in this environment."""
    entry = ENTRIES[service]
    configured = s.load_settings(entry.settings, environ)
    return [sys.executable, "-m", entry.module, *entry.flags(configured)]


def main(argv: list[str]) -> None:
    if len(argv) != 1 or argv[0] not in ENTRIES:
        sys.exit(f"usage: python -m deploy.production.launch {{{'|'.join(ENTRIES)}}}")
    command = command_for(argv[0])
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
