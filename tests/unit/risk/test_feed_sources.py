"""The feed's sources and its resilience: a seeded walk is reproducible, a recorded file is read
exactly, Hermes answers are parsed from a real local HTTP server, and network failures are
reported and retried, never raised."""

import asyncio
import http.server
import json
import threading

import pytest

from risk import feed
from risk.backoff import Backoff
from risk.sources import PYTH_FEED_IDS, Hermes, SyntheticWalk, read_file

HERMES_ANSWER = {"binary": {"encoding": "hex", "data": []}, "parsed": [
    {"id": PYTH_FEED_IDS["SOL"], "price": {"price": "14523456789", "conf": "7654321", "expo": -8, "publish_time": 1_763_856_000},
     "ema_price": {"price": "14500000000", "conf": "7000000", "expo": -8, "publish_time": 1_763_856_000}},
    {"id": "00" * 32, "price": {"price": "1", "conf": "0", "expo": -8, "publish_time": 1_763_856_000}},
]}


def test_the_synthetic_walk_is_the_same_for_a_seed():
    first = [SyntheticWalk(seed=3).step(10**18) for _ in range(1)]
    again = [SyntheticWalk(seed=3).step(10**18) for _ in range(1)]
    other = [SyntheticWalk(seed=4).step(10**18) for _ in range(1)]
    assert first == again != other
    assert {u.symbol for u in first[0]} == {"SOL", "BTC", "ETH"} and all(u.exponent == -8 for u in first[0])


def test_a_recorded_file_is_read_line_by_line(tmp_path):
    path = tmp_path / "prices.jsonl"
    path.write_text('# SOL at two times\n{"symbol": "SOL", "price": 10000000000, "confidence": 5000000, "exponent": -8, "publish_time": 1}\n\n'
                    '{"symbol": "SOL", "price": 101000000, "publish_time": 2}\n')
    updates = list(read_file(path))
    assert [(u.price, u.confidence, u.exponent, u.publish_time) for u in updates] == [(10**10, 5 * 10**6, -8, 1), (101 * 10**6, 0, -6, 2)]
    path.write_text('{"symbol": "SOL"}\n')
    with pytest.raises(ValueError, match="prices.jsonl:1"):
        list(read_file(path))


@pytest.fixture
def hermes_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server interface
            body = json.dumps(HERMES_ANSWER).encode()
            self.send_response(200 if self.path.startswith("/v2/updates/price/latest") else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def test_hermes_latest_prices_are_parsed(hermes_server):
    hermes = Hermes(hermes_server)
    try:
        (update,) = await hermes.latest()  # the unknown feed id is skipped
    finally:
        await hermes.close()
    assert (update.symbol, update.price, update.confidence, update.exponent) == ("SOL", 14_523_456_789, 7_654_321, -8)
    assert update.publish_time == 1_763_856_000 * 10**9


def test_backoff_doubles_to_a_ceiling_and_resets():
    backoff = Backoff(initial=1.0, ceiling=8.0)
    delays = [backoff.next_delay() for _ in range(6)]
    assert 0.8 <= delays[0] <= 1.2 and 6.4 <= delays[-1] <= 9.6 and backoff.failures == 6
    backoff.succeeded()
    assert backoff.next_delay() <= 1.2


async def test_network_failures_are_reported_and_retried_never_raised(tmp_path, caplog, monkeypatch):
    # Hermes on a closed port and NATS unreachable: the feed keeps going until told to stop.
    monkeypatch.setattr(Backoff, "next_delay", lambda self: setattr(self, "failures", self.failures + 1) or 0.05)
    options = feed.parse(["--nats", "nats://127.0.0.1:9", "--admin-keyfile", str(tmp_path / "admin.json"),
                          "--interval", "0.05", "hermes", "http://127.0.0.1:9"])
    sender = feed.Sender(options.nats, options.admin_keyfile, feed.log)
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.5, stop.set)
    await asyncio.wait_for(feed.run_hermes(sender, options, stop), 10)
    failures = [r.getMessage() for r in caplog.records
                if r.name == feed.log.name and "failed" in r.getMessage()]
    assert len(failures) >= 3 and all("hermes http://127.0.0.1:9" in f for f in failures)
