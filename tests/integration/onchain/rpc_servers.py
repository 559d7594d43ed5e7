"""Start and stop local LiteSVM-backed JSON-RPC servers as real processes."""

import subprocess
import sys
from contextlib import contextmanager


@contextmanager
def local_rpc_servers(count: int):
    """Yield ``count`` (url, process) pairs; every process is stopped on exit."""
    processes = [subprocess.Popen([sys.executable, "-m", "onchain.rpc.local_server", "--port", "0"],
                                  stdout=subprocess.PIPE, text=True) for _ in range(count)]
    try:
        servers = []
        for process in processes:
            line = process.stdout.readline().strip()
            assert line.startswith("QD_RPC_PORT="), f"server did not start: {line!r}"
            servers.append((f"http://127.0.0.1:{line.split('=')[1]}", process))
        yield servers
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
            process.wait(timeout=10)
