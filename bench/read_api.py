"""Read API requests per second and latency on a mixed dashboard load over 1M trades.

    python -m bench.read_api [--trades 1000000] [--seconds 10] [--connections 8] [--workers 2]

Starts its own PostgreSQL (durable defaults) and `python -m read_api` (uvicorn) in a temporary
directory. The read store holds a real domain session (markets, accounts, book, receipts) plus
`--trades` synthetic trades bulk-loaded into the trades read model (and rolled up into the
candles with the projector's own date_bin SQL), spread over 10 days in both markets.
- `value`: requests/s with `--connections` keep-alive HTTP/1.1 clients in a closed loop for
  `--seconds` (a minimal asyncio client, so the client costs little CPU); the mix per round:
  markets, order book, recent trades, 1m candles, a trades page further back (cursor), 1h
  candles, and a signed-in account's state and fills.
- `p50_ms`/`p99_ms`: the latency of those requests.
- `limit`: the same mix of SQL queries run directly on PostgreSQL (async pool, same
  concurrency): the ceiling of the read path without HTTP, in queries/s.
- `server_cpu_us_per_req` / `pg_cpu_us_per_req`: CPU time (user + system) the API processes and
  PostgreSQL spent per request during the load, from /proc: the figures that do not depend on
  how busy the machine is. `cpu_capacity_req_s` = the cores (`os.cpu_count()`) divided by their
  sum: the rate the API could serve if it had the machine to itself (the client excluded;
  `client_cpu_us_per_req` is what the bench's own client spent, on the same cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg_pool import AsyncConnectionPool

from bench.cpu import tree_cpu
from bench.report import emit, percentile
from deploy.local.ports import free_port, wait_for_port
from deploy.local.postgres import Postgres
from projections.offline import project_events
from projections.sample import OWNERS, owner_keypair, sample_events
from projections.timeseries import BUCKET_ORIGIN, RESOLUTIONS
from read_api.pagination import encode_cursor

ROOT = Path(__file__).resolve().parent.parent
DAY_US = 86_400_000_000


def seed(dsn: str, trades: int) -> None:
    """The sample session through the projectors, then `trades` bulk trades and their candles."""
    project_events(dsn, sample_events(orders=300, seed=3))
    with psycopg.connect(dsn, autocommit=True) as conn:
        schema = conn.execute("SELECT schema_name FROM qd_projection.active WHERE projector = 'trades'").fetchone()[0]
        for day in range(1, 11):
            conn.execute(f"CREATE TABLE IF NOT EXISTS {schema}.trades_p202512{day + 10:02d} PARTITION OF"
                         f" {schema}.trades FOR VALUES FROM ('2025-12-{day + 10:02d}') TO"
                         f" ('2025-12-{day + 11:02d}')")
        conn.execute(f"""INSERT INTO {schema}.trades
            SELECT CASE WHEN i %% 3 = 0 THEN 'BTC-PERP' ELSE 'SOL-PERP' END, i * 1000000, i, 0,
                   TIMESTAMPTZ '2025-12-11' + (i * (863999.0 / %s)) * INTERVAL '1 second',
                   0, 100000000 + (i %% 997) * 1000, 10000000 + (i %% 13) * 1000000,
                   (100000000 + (i %% 997) * 1000) * (10000000 + (i %% 13) * 1000000) / 1000000000,
                   CASE WHEN i %% 2 = 0 THEN 'buy' ELSE 'sell' END, 'o' || i, 'm' || i,
                   'taker', 'maker'
            FROM generate_series(1::bigint, %s::bigint) AS i""", (trades, trades))
        for resolution, width in RESOLUTIONS.items():
            conn.execute(f"""INSERT INTO {schema}.candles_{resolution}
                SELECT market, date_bin(INTERVAL '{width}', at, TIMESTAMPTZ '{BUCKET_ORIGIN}') b,
                       (array_agg(price ORDER BY trade_id))[1], max(price), min(price),
                       (array_agg(price ORDER BY trade_id DESC))[1], sum(size), sum(quote), count(*)
                FROM {schema}.trades WHERE at < '2026-01-01' GROUP BY 1, 2""")
        conn.execute("ANALYZE")


class Connection:
    """A minimal keep-alive HTTP/1.1 GET client (the bench must not be client-bound)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader = self.writer = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def get(self, path: str, headers: str = "") -> tuple[int, bytes]:
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n{headers}\r\n".encode())
        head = (await self.reader.readuntil(b"\r\n\r\n")).lower()
        start = head.index(b"content-length:") + 15
        length = int(head[start:head.index(b"\r\n", start)])
        body = await self.reader.readexactly(length)
        return int(head[9:12]), body


def dashboard_paths(cursor: str, auth: str) -> list[tuple[str, str]]:
    owner = OWNERS[0]
    return [
        ("/v1/markets", ""),
        ("/v1/markets/SOL-PERP/orderbook?depth=20", ""),
        ("/v1/markets/SOL-PERP/trades?limit=50", ""),
        ("/v1/markets/SOL-PERP/candles?resolution=1m&limit=100", ""),
        (f"/v1/markets/BTC-PERP/trades?limit=50&cursor={cursor}", ""),
        ("/v1/markets/BTC-PERP/candles?resolution=1h&limit=200", ""),
        (f"/v1/accounts/{owner}/0", auth),
        (f"/v1/accounts/{owner}/0/fills?limit=50", auth),
    ]


async def http_load(port: int, paths, seconds: float, connections: int) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        nonlocal errors
        connection = Connection(port)
        await connection.open()
        index = offset
        while time.perf_counter() < stop_at:
            path, headers = paths[index % len(paths)]
            index += 1
            started = time.perf_counter()
            status, _ = await connection.get(path, headers)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += status != 200
        connection.writer.close()

    await asyncio.gather(*(worker(i) for i in range(connections)))
    return len(latencies), sorted(latencies), errors


async def sql_limit(dsn: str, seconds: float, connections: int, cursor_id: int) -> float:
    """The same mix as SQL straight to PostgreSQL: queries/s."""
    owner = f"{OWNERS[0]}/0"
    queries = [
        ("SELECT * FROM read.markets", None),
        ("SELECT price, size, orders FROM read.book_levels WHERE market = 'SOL-PERP' AND side = 'buy' ORDER BY price DESC LIMIT 20", None),
        ("SELECT * FROM read.trades WHERE market = 'SOL-PERP' ORDER BY trade_id DESC LIMIT 50", None),
        ("SELECT * FROM read.candles_1m WHERE market = 'SOL-PERP' ORDER BY bucket DESC LIMIT 100", None),
        ("SELECT * FROM read.trades WHERE market = 'BTC-PERP' AND trade_id < %s ORDER BY trade_id DESC LIMIT 50", (cursor_id,)),
        ("SELECT * FROM read.candles_1h WHERE market = 'BTC-PERP' ORDER BY bucket DESC LIMIT 200", None),
        ("SELECT * FROM read.balances WHERE account = %s", (owner,)),
        ("SELECT * FROM read.fills WHERE account = %s ORDER BY position DESC LIMIT 50", (owner,)),
    ]
    count = 0
    stop_at = time.perf_counter() + seconds
    async with AsyncConnectionPool(dsn, min_size=connections, max_size=connections, open=False) as pool:
        await pool.wait()

        async def worker(offset: int) -> None:
            nonlocal count
            index = offset
            async with pool.connection() as conn:
                while time.perf_counter() < stop_at:
                    sql, params = queries[index % len(queries)]
                    index += 1
                    await (await conn.execute(sql, params)).fetchall()
                    count += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(connections)))
        return count / (time.perf_counter() - started)


async def sign_in(port: int) -> str:
    connection = Connection(port)
    await connection.open()
    keypair = owner_keypair(0)
    _, body = await connection.get(f"/v1/auth/nonce?wallet={keypair.pubkey()}")
    challenge = json.loads(body)
    signature = keypair.sign_message(challenge["message"].encode())
    payload = json.dumps({"wallet": str(keypair.pubkey()), "nonce": challenge["nonce"],
                          "signature": str(signature)}).encode()
    connection.writer.write(b"POST /v1/auth/token HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                            + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
    await connection.reader.readline()
    length = 0
    while (line := await connection.reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length"):
            length = int(line.split(b":")[1])
    token = json.loads(await connection.reader.readexactly(length))["token"]
    connection.writer.close()
    return f"Authorization: Bearer {token}\r\n"


async def main_async(args) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="qd-bench-api-"))
    postgres = Postgres(workdir / "pg").start()
    server = None
    try:
        started = time.perf_counter()
        seed(postgres.dsn, args.trades)
        print(f"seeded {args.trades} trades in {time.perf_counter() - started:.1f}s", flush=True)
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "read_api", "--pg", postgres.dsn, "--port", str(port),
                                   "--pool", str(args.connections), "--workers", str(args.workers),
                                   "--anonymous-rate", "1000000", "--authenticated-rate", "1000000",
                                   "--http", args.http],
                                  cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(port, 30, process=server, name="read_api")
        cursor_id = random.Random(1).randint(args.trades // 4, args.trades // 2) * 1_000_000
        cursor = encode_cursor(cursor_id)
        paths = dashboard_paths(cursor, await sign_in(port))
        await http_load(port, paths, 1.0, args.connections)  # warm-up
        cpu_before = tree_cpu(server.pid), tree_cpu(postgres.process.pid), time.process_time()
        count, latencies, errors = await http_load(port, paths, args.seconds, args.connections)
        server_cpu = (tree_cpu(server.pid) - cpu_before[0]) / max(count, 1) * 1e6
        pg_cpu = (tree_cpu(postgres.process.pid) - cpu_before[1]) / max(count, 1) * 1e6
        client_cpu = (time.process_time() - cpu_before[2]) / max(count, 1) * 1e6
        limit = await sql_limit(postgres.dsn, args.seconds / 2, args.connections, cursor_id)
        print(f"{count / args.seconds:.0f} req/s (limit {limit:.0f} queries/s),"
              f" p50 {percentile(latencies, 0.5)} ms, p99 {percentile(latencies, 0.99)} ms;"
              f" CPU per request: API {server_cpu:.0f} us, PostgreSQL {pg_cpu:.0f} us,"
              f" bench client {client_cpu:.0f} us;"
              f" load average {os.getloadavg()[0]:.1f}", flush=True)
        emit(bench="read_api", value=round(count / args.seconds), unit="req/s", limit=round(limit),
             p50_ms=percentile(latencies, 0.5), p99_ms=percentile(latencies, 0.99), errors=errors,
             server_cpu_us_per_req=round(server_cpu), pg_cpu_us_per_req=round(pg_cpu),
             client_cpu_us_per_req=round(client_cpu),
             cpu_capacity_req_s=round((os.cpu_count() or 1) * 1e6 / (server_cpu + pg_cpu)),
             load_average=round(os.getloadavg()[0], 1), http=args.http,
             trades=args.trades, connections=args.connections, workers=args.workers)
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.read_api")
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="read API worker processes")
    parser.add_argument("--http", default="httptools", choices=("httptools", "h11"),
                        help="uvicorn's HTTP parser in the API (A/B)")
    args = parser.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
