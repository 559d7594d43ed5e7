"""A three-node nats-server JetStream cluster over loopback, for tests and benchmarks.

Built on :class:`deploy.local.nats.NatsServer`: each node is one of those, with its own store
directory, client port, monitoring port and a cluster (route) port, and routes to the other two.
Ports are chosen once and kept, so a node killed with SIGKILL restarts at the same address with
the same store and rejoins the cluster (its replicas catch up from the stream leaders).

    with NatsCluster(tmp / "cluster").start() as cluster:
        cluster.urls          # client URLs of the three nodes
        cluster.url           # all three, comma-separated (what QD_NATS_URL holds in production)
        cluster.nodes[1].kill(); cluster.restart(1)

Readiness: a node "accepts clients" before JetStream has a meta leader; :meth:`wait_ready`
polls each node's monitoring ``/healthz`` (which answers 200 only once JetStream is usable) and
``/jsz`` until the meta group has a leader and every node sees all peers.

Known limit: loopback only and no TLS/auth: production clusters are configured by deploy/production.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from deploy.local.nats import NatsServer
from deploy.local.ports import free_port

CLUSTER_NAME = "qd"


@dataclass
class NatsCluster:
    """Three (or `size`) clustered nats-server processes with JetStream under `base_dir`."""

    base_dir: Path
    size: int = 3
    name: str = CLUSTER_NAME
    nodes: list[NatsServer] = field(default_factory=list)
    route_ports: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.route_ports = [free_port() for _ in range(self.size)]
        for index in range(self.size):
            routes = ",".join(f"nats://127.0.0.1:{port}" for i, port in enumerate(self.route_ports)
                              if i != index)
            directory = self.base_dir / f"n{index}"
            self.nodes.append(NatsServer(
                directory / "store", port=free_port(), monitor_port=free_port(),
                log_file=self.base_dir / f"n{index}.log",
                extra_args=["--server_name", f"{self.name}-n{index}", "--cluster_name", self.name,
                            "--cluster", f"nats://127.0.0.1:{self.route_ports[index]}",
                            "--routes", routes],
            ))

    @property
    def urls(self) -> list[str]:
        """Client URLs of every node, in node order."""
        return [node.url for node in self.nodes]

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated (the QD_NATS_URL form for a cluster)."""
        return ",".join(self.urls)

    def start(self, timeout: float = 30.0) -> "NatsCluster":
        """Start every node and wait until JetStream is clustered and ready."""
        for node in self.nodes:
            node.start(timeout)
        self.wait_ready(timeout)
        return self

    def restart(self, index: int, timeout: float = 30.0) -> None:
        """Start node `index` again (same ports, same store) and wait until it has rejoined."""
        self.nodes[index].start(timeout)
        self.wait_ready(timeout)

    def stop(self) -> None:
        """Stop every node that still runs."""
        for node in self.nodes:
            node.stop()

    def running(self) -> list[NatsServer]:
        """The nodes whose process is alive."""
        return [node for node in self.nodes if node.process and node.process.poll() is None]

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until every running node is healthy and the meta leader sees them all current."""
        deadline = time.monotonic() + timeout
        while not self._ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"JetStream cluster {self.name} not ready within {timeout:.0f}s")
            time.sleep(0.2)

    def _ready(self) -> bool:
        running = self.running()
        views = []
        for node in running:
            status, _ = _monitor(node, "/healthz")
            if status != 200:
                return False
            views.append(_monitor(node, "/jsz")[1].get("meta_cluster") or {})
        leaders = {view.get("leader") for view in views}
        if len(leaders) != 1 or None in leaders or "" in leaders:
            return False
        leader_view = next((view for node, view in zip(running, views)
                            if view.get("leader") == self.server_name(node)), None)
        if leader_view is None:
            return False
        current = sum(1 for replica in leader_view.get("replicas") or []
                      if replica.get("current") and not replica.get("offline"))
        return current + 1 >= len(running)  # the leader does not list itself

    def server_name(self, node: NatsServer) -> str:
        """The JetStream server name of `node`."""
        return f"{self.name}-n{self.nodes.index(node)}"

    def __enter__(self) -> "NatsCluster":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _monitor(node: NatsServer, path: str) -> tuple[int, dict]:
    url = f"http://127.0.0.1:{node.monitor_port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, {}
    except (OSError, ValueError):
        return 0, {}
