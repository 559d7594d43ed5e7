"""A projector process as an operator sees it: /metrics scraped, /healthz and /readyz probed,
JSON log lines read."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

from projections.sample import trading_session
from tests.integration.projections.helpers import last_handled, wait_for_position
from tests.probes import free_port, get
from tests.probes import metrics as scrape


async def test_a_projector_process_serves_its_lag_batches_and_health(events_nats, read_dsn, publish_events,
                                                                     tmp_path):
    # Given a session on the events stream
    events = trading_session(orders=300, seed=11).events
    await publish_events(events_nats, events)
    target = last_handled("trades", events)
    port = free_port()
    log_path = tmp_path / "projector.log"
    # When the trades projector runs as a process with a metrics port
    process = subprocess.Popen(
        [sys.executable, "-m", "projections.run", "trades", "--nats", events_nats, "--pg", read_dsn,
         "--batch", "50", "--metrics-port", str(port)],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=open(log_path, "wb"))
    try:
        await wait_for_position(read_dsn, "trades", target, timeout=60)
        # Then /metrics counts what it applied, in batches of at most 50, and it has caught up
        deadline = time.monotonic() + 10
        while True:
            found = scrape(port)
            if found.get(("qd_projection_position", (("projector", "trades"),))) == target:
                break
            assert time.monotonic() < deadline, found
            await asyncio.sleep(0.1)
        handled = sum(1 for e in events if e.position <= target and e.type in ("TradeSettled",))
        assert found[("qd_projection_events_total", (("projector", "trades"),))] >= handled > 0
        assert found[("qd_projection_batch_size_count", (("projector", "trades"),))] > 1
        assert found[("qd_projection_batch_size_bucket", (("le", "50.0"), ("projector", "trades")))] == \
            found[("qd_projection_batch_size_count", (("projector", "trades"),))]
        assert found[("qd_projection_lag_events", (("projector", "trades"),))] == 0
        assert found[("qd_projection_lag_seconds", (("projector", "trades"),))] >= 0
        assert found[("qd_build_info", (("service", "projector"), ("version", "dev")))] == 1
        # ... it is alive and ready (connected to NATS and the store)
        assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        status, body = get(f"http://127.0.0.1:{port}/readyz")
        assert status == 200 and json.loads(body)["checks"] == {"nats": True, "store": True}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
    # ... and its log lines are JSON objects naming the projector
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    assert lines and all(line["service"] == "projector" for line in lines)
    assert any(line.get("projector") == "trades" for line in lines), lines
