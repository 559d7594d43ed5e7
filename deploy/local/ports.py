"""Free loopback ports and readiness waits for locally started servers."""

import random
import socket
import time


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, chosen BELOW the kernel's
    ephemeral range: a port from that range (what binding port 0 gives) can be taken by any
    outgoing connection between now and the server's bind — e.g. a cluster node's route to a
    sibling grabbing the port chosen for the next node — and then the server fails to start."""
    low = _ephemeral_low()
    for _ in range(200):
        port = random.randrange(15_000, low)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # crowded: any free one
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (Linux; 32768 elsewhere)."""
    try:
        low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return max(low, 15_001)


def wait_for_port(port: int, timeout: float = 30.0, *, process=None, name: str = "server") -> None:
    """Block until something accepts connections on 127.0.0.1:port, or fail loudly."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{name} did not listen on 127.0.0.1:{port} within {timeout:.0f}s")
