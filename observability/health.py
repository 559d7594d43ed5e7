"""A tiny HTTP server for every service: ``/metrics``, ``/healthz`` (alive) and ``/readyz`` (ready).

    health = start_health_server(settings.metrics_port, metrics.registry)
    health.readiness.add("nats", lambda: nc.is_connected)
    health.readiness.add("store", lambda: engine.store is not None)
    ...
    health.close()

It runs in a daemon thread (``ThreadingHTTPServer``), so it answers even while the service's
event loop is busy with a long batch: liveness means "the process runs", readiness means "every
check passes now". Checks are plain callables returning a bool; they are called from the server
thread, so they should only read attributes (a bool flag, ``nc.is_connected``), never do I/O.

``/readyz`` answers 200 with ``{"ready": true, "checks": {...}}`` or 503 with the failing checks
named; a check that raises counts as failing, with the error in the body.

A service's entry point wires it in three lines (the pattern of every service of ours)::

    add_metrics_port_option(parser)                  # --metrics-port, default $QD_METRICS_PORT
    health = serve_operations(args.metrics_port, metrics, log)     # None when no port was asked
    readiness = health.readiness if health else Readiness()

Known limit: no TLS or auth; bind it to the pod/container network, never to the public internet.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


class Readiness:
    """Named readiness checks; ready when every one passes."""

    def __init__(self) -> None:
        self._checks: dict[str, Callable[[], bool]] = {}
        self._lock = threading.Lock()

    def add(self, name: str, check: Callable[[], bool]) -> None:
        """Register (or replace) the check called `name`."""
        with self._lock:
            self._checks[name] = check

    def follow(self, names: tuple[str, ...], source: Callable[[], dict[str, bool]]) -> None:
        """Register checks `names`, each read from the dict `source()` returns when evaluated (a
        service that rebuilds its parts after a failure points `source` at the current ones)."""
        for name in names:
            self.add(name, lambda name=name: source()[name])

    def evaluate(self) -> tuple[bool, dict[str, object]]:
        """(ready, {name: True | False | "error: ..."}) right now."""
        with self._lock:
            checks = dict(self._checks)
        results: dict[str, object] = {}
        for name, check in checks.items():
            try:
                results[name] = bool(check())
            except Exception as error:  # noqa: BLE001 - a broken check is a failing check
                results[name] = f"error: {error!r}"
        return all(result is True for result in results.values()), results


class HealthServer:
    """The running server: its port, its readiness checks, and a way to stop it."""

    def __init__(self, server: ThreadingHTTPServer, readiness: Readiness) -> None:
        self.server = server
        self.readiness = readiness
        self.thread = threading.Thread(target=server.serve_forever, name="qd-health", daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def close(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()


def start_health_server(port: int, registry: CollectorRegistry, *, host: str = "0.0.0.0",
                        readiness: Readiness | None = None) -> HealthServer:
    """Serve /metrics, /healthz and /readyz on `host:port` (port 0 = any free port)."""
    readiness = readiness or Readiness()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self._send_json(200, {"alive": True})
            elif path == "/readyz":
                ready, checks = readiness.evaluate()
                self._send_json(200 if ready else 503, {"ready": ready, "checks": checks})
            else:
                self._send_json(404, {"error": f"no such path {path}; try /metrics, /healthz, /readyz"})

        def _send_json(self, status: int, body: dict) -> None:
            self._send(status, json.dumps(body).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - scrapes are not news
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    health = HealthServer(server, readiness)
    health.thread.start()
    return health


METRICS_PORT_VARIABLE = "QD_METRICS_PORT"
NO_PORT = -1


def add_metrics_port_option(parser: argparse.ArgumentParser) -> None:
    """``--metrics-port``: default $QD_METRICS_PORT, else none (-1); 0 picks any free port."""
    parser.add_argument("--metrics-port", type=int, default=int(os.environ.get(METRICS_PORT_VARIABLE, NO_PORT)),
                        help="serve /metrics /healthz /readyz on this port (0: any free port; "
                             f"default ${METRICS_PORT_VARIABLE}, else none)")


def serve_operations(port: int, metrics, log: logging.Logger, *, host: str = "0.0.0.0") -> HealthServer | None:
    """Start the health server of `metrics` (a ``ServiceMetrics``) on `port`; None when port < 0."""
    if port < 0:
        return None
    health = start_health_server(port, metrics.registry, host=host)
    log.warning("metrics, health and readiness on port %d", health.port)
    return health


def rpc_reachable(rpc) -> bool:
    """A ``FailoverRpc`` has an endpoint whose circuit is not open (no I/O: its breakers' state)."""
    return rpc is not None and any(endpoint.breaker.state != "open" for endpoint in rpc.endpoints)
