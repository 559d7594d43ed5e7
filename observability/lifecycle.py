"""How every service process stops: SIGINT or SIGTERM sets one event, the service finishes what
it is doing (a batch, a publish window) and returns, so `make run`'s Ctrl-C and an orchestrator's
SIGTERM both end in a clean shutdown."""

import asyncio
import logging
import signal
from collections.abc import Callable
from typing import Any


def stop_on_signals() -> asyncio.Event:
    """An event that SIGINT and SIGTERM set; call from inside the running event loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def run_restarting(make: Callable[[], Any], stop: asyncio.Event, log: logging.Logger, name: str, *,
                         fatal: tuple[type[BaseException], ...] = (),
                         on_failure: Callable[[Exception], None] | None = None) -> None:
    """Run a service's part until `stop`: `make()` a fresh one, `start()` it, `run(stop)` it,
    `close()` it. After a failure (but a `fatal` one, which propagates) log it, tell
    `on_failure`, and start a new one a second later: a new part starts from what is durable."""
    while not stop.is_set():
        part = make()
        try:
            await part.start()
            await part.run(stop)
        except fatal:
            raise
        except Exception as error:  # noqa: BLE001 - any failure restarts the part
            if on_failure is not None:
                on_failure(error)
            log.exception("%s failed; restarting in 1 s", name)
            await asyncio.sleep(1)
        finally:
            await part.close()
