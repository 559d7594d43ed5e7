"""One read API server process, configured by the launcher's environment (`python -m read_api`
sets QD_READ_API_* before starting it, or several of it: processes.py)."""

from __future__ import annotations

import os

import uvicorn

from observability.health import Readiness, start_health_server
from observability.logs import configure_logging
from observability.metrics import ReadApiMetrics
from read_api.app import create_app
from read_api.processes import reuse_port_socket
from read_api.settings import RateTier, Settings


def serve(host: str, port: int, http: str, log_level: str, index: int | None) -> None:
    """One read API process; `index` (0..W-1) when it is one of several on a shared port."""
    sockets = None
    if index is not None:
        configure_logging("read-api", log_level)
        metrics_port = os.environ.get("QD_READ_API_METRICS_PORT")
        if metrics_port is not None:
            os.environ["QD_READ_API_METRICS_PORT"] = str(int(metrics_port) + index)
        sockets = [reuse_port_socket(host, port)]
    # uvloop and httptools: the event loop and HTTP parsing in C (h11 costs a request's worth
    # of Python per request).
    config = uvicorn.Config("read_api.server:app_from_environment", factory=True, host=host, port=port,
                            log_level=log_level.lower(), access_log=False, loop="uvloop", http=http,
                            log_config=None)
    uvicorn.Server(config).run(sockets=sockets)


def app_from_environment():
    """The app for one uvicorn worker, configured by the launcher's environment."""
    rate = float(os.environ.get("QD_READ_API_ANONYMOUS_RATE", "50"))
    settings = Settings(dsn=os.environ["QD_READ_API_PG"], pool_size=int(os.environ.get("QD_READ_API_POOL", "8")),
                        token_secret=os.environ["QD_READ_API_TOKEN_SECRET"].encode())
    settings.tiers["anonymous"] = RateTier(rate=rate, burst=int(rate * 2))
    signed_in = float(os.environ.get("QD_READ_API_AUTHENTICATED_RATE", "200"))
    settings.tiers["authenticated"] = RateTier(rate=signed_in, burst=int(signed_in * 2))
    port = os.environ.get("QD_READ_API_METRICS_PORT")
    if port is None:
        return create_app(settings)
    metrics, readiness = ReadApiMetrics(), Readiness()
    start_health_server(int(port), metrics.registry, readiness=readiness)
    return create_app(settings, metrics=metrics, readiness=readiness)


