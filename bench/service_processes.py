"""Our services as `python -m ...` processes for the benchmarks: started in their own process
group with a log file each, and stopped even when a phase paused them with SIGSTOP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from deploy.local.nats import stop_process

ROOT = Path(__file__).resolve().parents[1]


def service(log_dir: Path, name: str, *argv: str) -> subprocess.Popen:
    """Start `python -m ...` as its own process group, logging to `log_dir/name.log`."""
    log = open(log_dir / f"{name}.log", "ab")
    return subprocess.Popen([sys.executable, "-m", *argv], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def stop_services(running: list[subprocess.Popen]) -> None:
    """Stop every process of `running`, resuming it first if a phase paused it."""
    for process in running:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
        stop_process(process)
