"""Fixtures of the cluster tests: a three-node JetStream cluster of their own (our stream names
are global, so no other test may share it), and helpers to run our services as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.local.cluster import NatsCluster
from deploy.local.nats import stop_process

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def nats_cluster(tmp_path):
    """Three clustered nats-server processes with JetStream on loopback."""
    cluster = NatsCluster(tmp_path / "cluster").start()
    yield cluster
    cluster.stop()


class ServiceProcesses:
    """Our services as `python -m <module>` processes, logs under one directory, all stopped at the end."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}
        self.commands: dict[str, tuple] = {}
        self.restarts: dict[str, list[int]] = {}

    def start(self, name: str, module: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start one service process in its own session (so a SIGKILL reaches only it)."""
        log = open(self.log_dir / f"{name}.log", "ab")
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args], cwd=ROOT, start_new_session=True,
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        self.processes[name] = process
        self.commands[name] = (module, args, env)
        return process

    def restart_if_exited(self, name: str) -> bool:
        """What a supervisor (`qd run`, compose's restart policy) does: start it again if it died."""
        code = self.processes[name].poll()
        if code is None:
            return False
        self.restarts.setdefault(name, []).append(code)
        module, args, env = self.commands[name]
        self.start(name, module, *args, env=env)
        return True

    def exited(self) -> dict[str, int]:
        """Services that are no longer running or had to be restarted, with their exit codes."""
        ended = {name: codes[-1] for name, codes in self.restarts.items()}
        ended.update({name: p.returncode for name, p in self.processes.items() if p.poll() is not None})
        return ended

    def log(self, name: str, tail: int = 3000) -> str:
        """The end of a service's log (all of it with tail=0)."""
        return (self.log_dir / f"{name}.log").read_text(errors="replace")[-tail:]

    def stop_all(self) -> None:
        for process in self.processes.values():
            stop_process(process, timeout=10)


@pytest.fixture
def services(tmp_path):
    running = ServiceProcesses(tmp_path)
    yield running
    running.stop_all()
