"""Read API latency by route: a pure ASGI middleware timing each HTTP request.

    app = create_app(settings)
    app.add_middleware(RouteTimingMiddleware, metrics=ReadApiMetrics())

The ``route`` label is the route's path template (``/markets/{market}/trades``), read from the
``route`` Starlette puts in the scope once it has matched one, so label values stay bounded; a
request no route matched is labelled ``unmatched``. A request answered before routing (the read
API's public cache) is matched against the app's routes here, so it keeps its template.
WebSocket and lifespan scopes pass through.
"""

from __future__ import annotations

import re
import time

from observability.metrics import ReadApiMetrics

UNMATCHED = "unmatched"


class RouteTimingMiddleware:
    """Observe `qd_api_request_seconds{route,method,status}` for every HTTP request."""

    def __init__(self, app, metrics: ReadApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}  # what a crash before the response start counts as

        async def send_and_note_status(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or route_template(scope)
            self.metrics.request_seconds.labels(route, scope.get("method", ""), str(status["code"])
                                                ).observe(time.perf_counter() - started)


def route_template(scope) -> str:
    """The path template (from the app's OpenAPI paths) matching `scope`'s path, else ``unmatched``."""
    app = scope.get("app")
    templates = _templates.get(id(app))
    if templates is None:
        paths = app.openapi().get("paths", {}) if hasattr(app, "openapi") else {}
        templates = [(re.compile("^" + re.sub(r"\{[^/}]+\}", "[^/]+", path) + "$"), path) for path in paths]
        _templates[id(app)] = templates
    path = scope.get("path", "")
    return next((template for pattern, template in templates if pattern.match(path)), UNMATCHED)


_templates: dict[int, list] = {}  # per app: (compiled pattern, template), built on first use
