"""How every service process stops: SIGINT or SIGTERM sets one event, the service finishes what
it is doing (a batch, a publish window) and returns, so `make run`'s Ctrl-C and an orchestrator's
SIGTERM both end in a clean shutdown."""

import asyncio
import signal


def stop_on_signals() -> asyncio.Event:
    """An event that SIGINT and SIGTERM set; call from inside the running event loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop
