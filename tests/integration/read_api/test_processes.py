"""Several read API processes behind one address: connections spread over them, each serves its
own metrics, and one that dies is started again."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time

import psutil

from tests.probes import free_port, get
from tests.integration.read_api.test_observability import ready, request_counts

CONNECTIONS = 16  # kernel-hashed over 2 sockets: all on one would be a 1 in 32,768 event


def two_free_ports() -> int:
    """A port p with p and p + 1 both free (worker i serves metrics on p + i)."""
    while True:
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue


def wait_until(condition, seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


def test_two_processes_share_one_port_and_each_serves_its_metrics(read_store_dsn):
    # Given `python -m read_api --workers 2` with a metrics port
    port, metrics_port = free_port(), two_free_ports()
    process = subprocess.Popen(
        [sys.executable, "-m", "read_api", "--pg", read_store_dsn, "--port", str(port), "--workers", "2",
         "--metrics-port", str(metrics_port), "--anonymous-rate", "100000"],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: ready(metrics_port) and ready(metrics_port + 1), 60, "workers never became ready")

        # When a dashboard backend opens a pool of keep-alive connections and uses each
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(CONNECTIONS)]
        for connection in connections:
            for _ in range(3):
                connection.request("GET", "/v1/markets")
                response = connection.getresponse()
                assert response.status == 200 and response.read()
        for connection in connections:
            connection.close()

        # Then both processes answered some of them, and each counts its own on its metrics port
        def served(worker: int) -> float:
            return request_counts(metrics_port + worker).get(("/v1/markets", "200"), 0.0)
        wait_until(lambda: served(0) + served(1) == 3 * CONNECTIONS, 10, "requests not all counted")
        assert served(0) > 0 and served(1) > 0

        # When one worker is killed, the supervisor starts it again on the same ports
        first = next(child for child in psutil.Process(process.pid).children()
                     if any(c.laddr.port == metrics_port for c in child.net_connections("tcp")))
        first.send_signal(signal.SIGKILL)
        wait_until(lambda: not ready(metrics_port), 10, "the killed worker still answers")
        wait_until(lambda: ready(metrics_port), 30, "the killed worker was not started again")
        assert get(f"http://127.0.0.1:{port}/v1/markets")[0] == 200
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)
