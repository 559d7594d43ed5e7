"""What every service exposes to operators: Prometheus metrics, health/readiness, JSON logs.

- ``observability.metrics``: one metrics class per service, all metric names in one place.
- ``observability.health``: ``/metrics``, ``/healthz``, ``/readyz`` on a small HTTP server.
- ``observability.asgi``: read API latency by route template.
- ``observability.logs``: JSON log lines with command id, account and event sequence.
"""
