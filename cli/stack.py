"""`qd run`: the local stack in the foreground, resumable from a project-local state directory.

Starts nats-server (JetStream store in the state directory) and PostgreSQL, then every service of
ours that exists, each as its own process with its log in `<state>/logs/`. A service that dies is
restarted with backoff (its durable consumer resumes where it stopped). Ctrl-C stops everything,
services first, then PostgreSQL and NATS.
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from client.keys import load_or_create_keypair, pubkey_of
from deploy.local.nats import NatsServer, stop_process
from deploy.local.ports import wait_for_port
from deploy.local.postgres import Postgres

DATABASE = "quantdesk"


@dataclass(frozen=True)
class Service:
    """One long-running process of ours: `python -m <module> <args>`, serving /metrics,
    /healthz and /readyz on the metrics base port + `metrics` (the projectors: + one per model)."""

    name: str
    module: str
    args: tuple[str, ...] = ()
    metrics: int | None = None
    listens_on: int | None = None  # the services after it need this port up (waited for at start)

    def command(self, metrics_base: int) -> list[str]:
        flags = [] if self.metrics is None else ["--metrics-port", str(metrics_base + self.metrics)]
        return ["-m", self.module, *flags, *self.args]  # flags first: some args are subcommands


# The services in start order. A module that does not exist yet is skipped (and said so).
SERVICES = (
    Service("engine", "bus.engine", metrics=0),
    Service("relay", "bus.relay", metrics=1),
    Service("projectors", "projections.run", ("all",), metrics=10),  # 10, 11, ...: one per model
    Service("read-api", "read_api", metrics=2),
    Service("price-feed", "risk.feed", ("synthetic",), metrics=3),
    Service("keeper", "risk.keeper", ("--liquidate", "--dev-fund-usdc", "1000000"), metrics=4),
    Service("devnet", "onchain.devnet", listens_on=8899),  # our program in LiteSVM behind a JSON-RPC
    Service("deposit-watcher", "onchain.watcher", metrics=5),
    Service("settler", "onchain.settler", metrics=6),
    Service("market-maker", "examples.market_maker"),
    Service("taker", "examples.taker"),
)


@dataclass
class Running:
    service: Service
    process: subprocess.Popen
    started: float
    restarts: int = 0


def run_stack(*, state_dir: str, nats_port: int, pg_port: int, api_port: int,
              metrics_base: int = 9101) -> None:
    """Start everything, print what a user needs, supervise until Ctrl-C, stop cleanly."""
    state = Path(state_dir).resolve()
    logs = state / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    nats = NatsServer(state / "nats", port=nats_port, log_file=logs / "nats.log")
    postgres = Postgres(state / "postgres", port=pg_port, log_file=logs / "postgres.log")
    running: list[Running] = []
    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        print(f"starting nats-server on {nats_port} and PostgreSQL on {pg_port} ...", flush=True)
        nats.start()
        postgres.start()
        dsn = _ensure_database(postgres)
        env = _service_environment(state, nats.url, dsn, api_port)
        for service in SERVICES:
            if importlib.util.find_spec(service.module.split(".")[0]) is None or \
                    importlib.util.find_spec(service.module) is None:
                print(f"  (no {service.name} yet: {service.module} does not exist)", flush=True)
                continue
            running.append(_start(service, env, logs, metrics_base))
            if service.listens_on is not None:  # e.g. the watcher and settler need the chain's RPC
                try:
                    wait_for_port(service.listens_on, 60, process=running[-1].process, name=service.name)
                except (RuntimeError, TimeoutError) as error:
                    print(f"  {error}; see {logs / (service.name + '.log')}", flush=True)
        _print_banner(nats.url, dsn, api_port, logs, running, metrics_base)
        while not stopping:
            _supervise(running, env, logs, metrics_base)
            time.sleep(0.5)
    finally:
        print("\nstopping ...", flush=True)
        for entry in reversed(running):
            stop_process(entry.process, timeout=10)
        postgres.stop()
        nats.stop()
        print("stopped; data kept in", state, flush=True)


def _ensure_database(postgres: Postgres) -> str:
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return postgres.dsn_for(DATABASE)


def _service_environment(state: Path, nats_url: str, dsn: str, api_port: int) -> dict[str, str]:
    """Settings every service reads from its environment (validated by each at start-up).

    The local stack's operator key (admin: create markets, dev deposits) is a keyfile in the state
    directory, made on first run; production passes its admin public key instead.
    """
    admin_keyfile = state / "keys" / "admin.json"
    admin = load_or_create_keypair(admin_keyfile)
    return {
        **os.environ,
        "QD_NATS_URL": nats_url,
        "QD_PG_DSN": dsn,
        "QD_STATE_DIR": str(state),
        "QD_READ_API_PORT": str(api_port),
        "QD_READ_API_URL": f"http://127.0.0.1:{api_port}",
        "QD_ADMIN_KEYFILE": str(admin_keyfile),
        "QD_ADMIN_PUBKEY": pubkey_of(admin),
        "QD_DEPOSIT_KEYPAIR": str(admin_keyfile),  # locally the operator also signs chain deposits
        "QD_SETTLER_PUBKEY": pubkey_of(load_or_create_keypair(state / "settler-authority.json")),
        "QD_RPC_URLS": "http://127.0.0.1:8899",
        "QD_ONCHAIN_ASSETS": "USDC",
        "PYTHONUNBUFFERED": "1",
    }


def _start(service: Service, env: dict[str, str], logs: Path, metrics_base: int) -> Running:
    log = open(logs / f"{service.name}.log", "ab")
    process = subprocess.Popen([sys.executable, *service.command(metrics_base)], env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return Running(service, process, time.monotonic())


def _supervise(running: list[Running], env: dict[str, str], logs: Path, metrics_base: int) -> None:
    """Restart a service that exited, backing off up to 30 s between tries."""
    for index, entry in enumerate(running):
        code = entry.process.poll()
        if code is None:
            continue
        backoff = min(30.0, 2.0 ** min(entry.restarts, 5))
        if time.monotonic() - entry.started < backoff:
            continue
        print(f"  {entry.service.name} exited ({code}); restarting, see "
              f"{logs / (entry.service.name + '.log')}", flush=True)
        replacement = _start(entry.service, env, logs, metrics_base)
        replacement.restarts = entry.restarts + 1
        running[index] = replacement


def _print_banner(nats_url: str, dsn: str, api_port: int, logs: Path, running: list[Running],
                  metrics_base: int) -> None:
    names = ", ".join(entry.service.name for entry in running) or "none yet"
    metrics = ", ".join(f"{entry.service.name} {metrics_base + entry.service.metrics}"
                        for entry in running if entry.service.metrics is not None)
    print(json.dumps({"nats_url": nats_url, "postgres": dsn}, indent=None))
    print(f"""
QuantDesk is running (Ctrl-C stops everything).
  NATS:        {nats_url}   commands: qd.cmd.<kind>   events: qd.evt.>  (docs/architecture.md)
  Read API:    http://127.0.0.1:{api_port}  (OpenAPI at /docs)
  PostgreSQL:  {dsn}
  Services:    {names}
  Metrics:     http://127.0.0.1:<port>/metrics (/healthz, /readyz): {metrics} (projectors: one port each from there)
  Logs:        {logs}/
""", flush=True)
