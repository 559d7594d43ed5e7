"""Schemathesis against our own OpenAPI: no generated request, however hostile, gets a 5xx.

Each HTTP operation of /openapi.json gets a bounded number of generated cases (valid and
invalid parameters, unknown markets, huge numbers, odd strings), called in-process (ASGI).
"""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from read_api.app import create_app
from tests.integration.read_api.conftest import make_settings

EXAMPLES_PER_OPERATION = 10


def test_no_generated_request_gets_a_server_error(read_store_dsn):
    app = create_app(make_settings(read_store_dsn))
    with TestClient(app):  # runs the lifespan: the pool is open while schemathesis calls
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        failures, operations = [], 0
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def call(case) -> None:
                response = case.call()
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} {case.query}"
                                    f" -> {response.status_code} {response.text[:200]}")

            call()
    assert operations >= 20
    assert not failures, "\n".join(failures[:10])
