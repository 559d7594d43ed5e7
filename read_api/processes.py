"""Several read API processes behind one address.

Each process binds its own listening socket on the same port with SO_REUSEPORT, so the kernel
spreads new connections over the processes by their addresses. (uvicorn's `workers` share one
accept socket: whichever process wakes first takes the connection, and a burst of keep-alive
connections — a dashboard backend's pool — can all land on one process for good.) Each process
also gets its own metrics port (`metrics_port + index`), so every registry is scraped.

The parent only supervises: a process that dies is started again; SIGTERM/SIGINT stop them all.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
from collections.abc import Callable

log = logging.getLogger("read_api")
RESTART_PAUSE = 1.0


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port that other processes may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def supervise(count: int, serve_one: Callable[[int], None]) -> None:
    """Run `serve_one(index)` in `count` processes until SIGTERM/SIGINT; restart any that dies."""
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    processes = {}
    try:
        while not stopping.is_set():
            for index in range(count):
                process = processes.get(index)
                if process is None or not process.is_alive():
                    if process is not None:
                        log.warning("read API process %d exited with %s; starting it again",
                                    index, process.exitcode)
                    processes[index] = context.Process(target=serve_one, args=(index,), daemon=False)
                    processes[index].start()
            stopping.wait(RESTART_PAUSE)
    finally:
        for process in processes.values():
            if process.is_alive():
                process.terminate()
        for process in processes.values():
            process.join(10)
            if process.is_alive():
                process.kill()
