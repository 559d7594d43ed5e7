"""Benchmark: events per second replayed from genesis AND chain-verified, from PostgreSQL.

    python -m bench.replay [--events 100000] [--insert-events 20000]

Builds a throwaway PostgreSQL cluster, writes a trading log through the real domain
(`domain.exchange.Exchange`) and the engine's store (`bus.event_store.ExchangeStore`, chain
trigger installed), then measures in the same run:
    value  rows read, chain-verified, mapped to domain events and applied, per second
           (ending with the exchange's state hash), in one process as `qd audit replay` does;
           the `--parallel` variant (chain verified by a second process) is also shown
    limit  the same rows read from the same query, neither verified nor applied
It also reports the chain trigger's cost on inserts: events/s committed with and without it.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

import psycopg

from audit.chain import install_chain, uninstall_chain
from audit.log_source import StoreLog
from audit.replay import Replay
from audit.store_replay import replay_store
from bench.report import emit

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
MARKET = "SOL-PERP"
PRICE = 100_000_000  # 100 USDC in 1e6


def owner_key(number: int) -> str:
    """A deterministic base58 public key-shaped owner for account `number`."""
    rng = random.Random(number)
    return "".join(rng.choice(_ALPHABET) for _ in range(44))


class TradingWorkload:
    """Deterministic commands against the real domain: accounts, deposits, crossing orders."""

    def __init__(self, accounts: int = 50, seed: int = 7) -> None:
        from domain.exchange import Exchange

        self.exchange = Exchange()
        self.random = random.Random(seed)
        self.owners = [owner_key(n) for n in range(accounts)]
        self.seq = 0
        self.at = 1_700_000_000_000_000_000

    def next_command(self) -> tuple[int, int]:
        """(at, seq) of the next command: time advances 1 ms per command."""
        self.seq += 1
        self.at += 1_000_000
        return self.at, self.seq

    def setup(self) -> None:
        """Market, prices, accounts and their deposits."""
        exchange = self.exchange
        exchange.create_market(*self.next_command(), symbol=MARKET, base_asset="SOL", tick_size=10_000,
                               lot_size=1_000_000, min_size=1_000_000, max_leverage=20,
                               initial_margin_bps=500, maintenance_margin_bps=300,
                               maker_fee_bps=1, taker_fee_bps=5)
        exchange.set_oracle_price(*self.next_command(), symbol="USDC", price=1_000_000)
        exchange.set_oracle_price(*self.next_command(), symbol="SOL", price=PRICE)
        for owner in self.owners:
            exchange.open_account(*self.next_command(), owner=owner)
            exchange.deposit(*self.next_command(), owner=owner, sub_account=0, asset="USDC",
                             amount=10_000_000_000_000)

    def trade(self) -> None:
        """One random limit order around the oracle price (about half of them cross)."""
        from domain.exchange import Rejected

        rng = self.random
        side = rng.choice(("buy", "sell"))
        offset = rng.randint(-20, 20) * 10_000
        try:
            self.exchange.place_order(*self.next_command(), owner=rng.choice(self.owners),
                                      sub_account=0, market=MARKET, side=side,
                                      size=rng.randint(1, 50) * 1_000_000, price=PRICE + offset)
        except Rejected:
            pass  # recorded as Account.CommandRejected: part of the log like any event

    def collect(self) -> list:
        """The events recorded since the last call (what the engine commits as one batch)."""
        events: list = []
        for aggregate in self.exchange.collect_changed():
            events.extend(aggregate.collect_events())
        return events


def write_trading_log(store, events: int, batch_commands: int = 200, capture_every: int = 0,
                      accounts: int = 50) -> dict[int, str]:
    """Commit at least `events` domain events through `store` (an ExchangeStore), in batches
    of `batch_commands` commands; returns {log position: live state hash} every `capture_every`
    batches (never when 0)."""
    workload = TradingWorkload(accounts=accounts)
    workload.setup()
    written = 0
    batches = 0
    captured: dict[int, str] = {}
    pending = workload.collect()
    while True:
        if pending:
            positions = store.commit(pending, workload.seq)
            written += len(pending)
            batches += 1
            if capture_every and batches % capture_every == 0:
                captured[positions[-1]] = workload.exchange.state_hash()
        if written >= events:
            return captured
        for _ in range(batch_commands):
            workload.trade()
        pending = workload.collect()


def open_store(dsn: str, chained: bool = True):
    """The engine's event store over `dsn`, with the audit chain installed (unless told not)."""
    from bus.event_store import EVENTS_TABLE, ExchangeStore

    store = ExchangeStore(dsn)  # installs the chain itself
    if not chained:
        with psycopg.connect(dsn) as conn:
            uninstall_chain(conn, EVENTS_TABLE)
    return store


def prepared_batches(events: int, batch_commands: int = 200) -> list[tuple[list, int]]:
    """The events of a trading session, batch by batch, built before any timing starts."""
    workload = TradingWorkload()
    workload.setup()
    batches = [(workload.collect(), workload.seq)]
    written = len(batches[0][0])
    while written < events:
        for _ in range(batch_commands):
            workload.trade()
        batch = workload.collect()
        batches.append((batch, workload.seq))
        written += len(batch)
    return batches


def measure_inserts(postgres, events: int, rounds: int = 2) -> dict[str, float]:
    """Events/s committed by the engine's store (one transaction per batch, as the engine does),
    without and with the chain trigger; only the commits are timed, alternating, best round."""
    batches = prepared_batches(events)
    count = sum(len(batch) for batch, _ in batches)
    rates: dict[str, float] = {"plain": 0.0, "chained": 0.0}
    for round_number in range(rounds):
        for chained in (False, True):
            name = "chained" if chained else "plain"
            store = open_store(postgres.create_database(f"insert_{name}_{round_number}"), chained)
            started = time.perf_counter()
            for batch, last_seq in batches:
                store.commit(batch, last_seq)
            rates[name] = max(rates[name], count / (time.perf_counter() - started))
            store.close()
    return rates


def _timed(run) -> tuple[object, float, float]:
    """(result, wall seconds, CPU seconds of this process) of one run."""
    started, cpu_started = time.perf_counter(), time.process_time()
    result = run()
    return result, time.perf_counter() - started, time.process_time() - cpu_started


def measure_replay(dsn: str, rounds: int = 2) -> dict[str, float | str | int]:
    """Replay rate (verified and applied) against the raw read rate of the same rows; the
    best of `rounds` alternating runs of each (the machine is shared: best = least disturbed)."""
    log = StoreLog(dsn)
    best = {"read": (0.0, 0.0), "replay": (0.0, 0.0), "parallel": (0.0, 0.0)}
    result = None
    for _ in range(rounds):
        read, seconds, cpu = _timed(lambda: sum(1 for _ in log.rows()))
        best["read"] = max(best["read"], (read / seconds, read / cpu))
        result, seconds, cpu = _timed(lambda: Replay().run(log.rows()))  # `qd audit replay`
        if not result.ok:
            raise SystemExit(f"replay failed: {result.chain_break or result.failure}")
        best["replay"] = max(best["replay"], (result.events / seconds, result.events / cpu))
        parallel, seconds, cpu = _timed(lambda: replay_store(log))  # `--parallel`
        if parallel.checkpoints[-1] != result.checkpoints[-1]:
            raise SystemExit("parallel and sequential replays disagree")
        best["parallel"] = max(best["parallel"], (parallel.events / seconds, 0.0))
    return {"events": result.events, "read_rate": best["read"][0], "read_cpu_rate": best["read"][1],
            "replay_rate": best["replay"][0], "replay_cpu_rate": best["replay"][1],
            "parallel_rate": best["parallel"][0], "state_hash": result.checkpoints[-1].state_hash}


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m bench.replay`."""
    parser = argparse.ArgumentParser(prog="python -m bench.replay")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--insert-events", type=int, default=20_000)
    arguments = parser.parse_args(argv)
    from deploy.local.postgres import FAST_UNSAFE_SETTINGS, Postgres

    directory = Path(tempfile.mkdtemp(prefix="qd-bench-replay-"))
    postgres = Postgres(directory / "pg", log_file=directory / "pg.log",
                        settings=FAST_UNSAFE_SETTINGS).start()
    try:
        dsn = postgres.create_database("replay")
        store = open_store(dsn)
        started = time.perf_counter()
        write_trading_log(store, args_events := arguments.events)
        print(f"wrote {args_events} events in {time.perf_counter() - started:.1f}s", flush=True)
        store.close()
        replay = measure_replay(dsn)
        inserts = measure_inserts(postgres, arguments.insert_events)
        print(f"replayed {replay['events']} events: {replay['replay_rate']:.0f}/s "
              f"(with --parallel {replay['parallel_rate']:.0f}/s) "
              f"(read only {replay['read_rate']:.0f}/s); inserts {inserts['plain']:.0f}/s plain, "
              f"{inserts['chained']:.0f}/s chained", flush=True)
        emit(bench="replay", value=round(replay["replay_rate"]), unit="events/s",
             limit=round(replay["read_rate"]), events=replay["events"],
             state_hash=replay["state_hash"], floor=50_000,
             replay_events_per_cpu_s=round(replay["replay_cpu_rate"]),
             parallel_verify_events_per_s=round(replay["parallel_rate"]),
             read_events_per_cpu_s=round(replay["read_cpu_rate"]),
             insert_plain_events_per_s=round(inserts["plain"]),
             insert_chained_events_per_s=round(inserts["chained"]),
             chain_insert_overhead=round(1 - inserts["chained"] / inserts["plain"], 4))
    finally:
        postgres.stop()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
