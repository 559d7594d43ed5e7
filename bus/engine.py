"""The engine: the ONE writer. Commands from JetStream, applied in order, committed, answered.

    python -m bus.engine --nats URL --pg DSN [--admin PUBKEY ...]   (flags: bus/engine_cli.py)

Loop: the intake checks commands as they stream in from the durable pull consumer `engine` on
`QD_CMD` (signatures, bytes, and one store query per chunk for command ids already answered;
`engine_intake`) -> when the committer takes a batch, everything checked meanwhile is applied
to the in-memory exchange as the next batch (`engine_batch`) and handed to the committer. The
committer, one job at a time and in order: ONE PostgreSQL transaction with every event, every
receipt and the stream position -> replies -> acks.

Invariants:
- A command's time is the commands stream's timestamp of its message, its `seq` the stream
  sequence; never a clock of ours.
- Acks only after commit; the stream position is committed with the events, so a redelivered
  command (seq <= position) is answered from its stored receipt and never applied twice.
- Commands are applied strictly in stream order: at start-up the consumer is re-positioned at
  position+1 if it has unacked or undelivered-yet-committed messages, and a gap in the
  sequence while running re-positions it (after the in-flight commits land).
- Anything failing in the write path (database down, a stale second engine) restarts the
  engine from the store: state is rebuilt, the consumer re-positioned; nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec
import nats
from nats.js.api import AckPolicy

from bus import engine_replies, nats_servers, streams, subjects
from bus.engine_batch import BatchApplier, CommitJob, PoisonCommand, ReceiptCache
from bus.engine_consumer import position_consumer
from bus.engine_intake import CheckedCommands, OperatorKeys, receive_batch
from bus.engine_throttle import CommandThrottle
from bus.event_store import ExchangeStore
from bus.puller import DeliveryLost
from observability.lifecycle import run_restarting

if TYPE_CHECKING:
    from observability.health import Readiness
    from observability.metrics import EngineMetrics

log = logging.getLogger("bus.engine")


@dataclass
class EngineSettings:
    nats_url: str
    pg_dsn: str
    operators: OperatorKeys = field(default_factory=OperatorKeys)
    batch_size: int = 1000
    fetch_timeout: float = 0.5
    snapshot_every: int = 10_000  # events per aggregate between snapshots (0: none)
    verify_workers: int = 1  # processes checking signatures; 0 = in the event loop's process
    command_rate: int = 1000  # commands/s per account (bus.engine_throttle); 0: unlimited
    command_burst: int = 2000  # commands an account may send at once before its rate applies
    declare_streams: bool = True  # tests that shape the streams themselves turn it off
    metrics_port: int = -1  # serve /metrics /healthz /readyz there (engine_cli); -1: none


ASTRAY_CHECK_INTERVAL = 1.0  # seconds between idle checks for deliveries that never arrived


class RestartEngine(Exception):
    """The write path failed; start again from the store."""


class Engine:
    """One run of the engine, from start-up to a stop or a failure."""

    def __init__(self, settings: EngineSettings, metrics: EngineMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics
        self.store: ExchangeStore | None = None
        self.applier: BatchApplier | None = None
        self.cache = ReceiptCache()
        # One batch commits while the next is applied and waits here (see `run`).
        self.commits: asyncio.Queue[CommitJob] = asyncio.Queue(1)
        self.failure: BaseException | None = None
        self.committed_seq = 0
        self.stopping = asyncio.Event()
        self.nc = None
        self.ack_last_only = False
        self.log_position = 0  # notification id of the last event committed
        self.verifier: ProcessPoolExecutor | None = None
        self.timings: Counter[str] = Counter()  # seconds per stage, for profiling
        self.reading = True  # the intake runs until the engine stops
        self.next_astray_check = 0.0  # loop time of the next idle check for lost deliveries
        self.checked = CheckedCommands()
        self.commit_taken = asyncio.Event()

    # --- start-up ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect, declare the streams, rebuild the exchange, position the consumer."""
        self.nc = await nats_servers.connect(self.settings.nats_url, "qd-engine", reconnect_time_wait=0.5)
        self.js = self.nc.jetstream()
        if self.settings.declare_streams:
            await streams.declare(self.js)
        if self.settings.verify_workers > 0:
            self.verifier = ProcessPoolExecutor(
                self.settings.verify_workers, mp_context=multiprocessing.get_context("spawn")
            )
        self.store = await asyncio.to_thread(ExchangeStore, self.settings.pg_dsn)
        await self.rebuild()
        self.subscription = await position_consumer(self.js, self.committed_seq)
        info = await self.js.consumer_info(streams.COMMANDS_STREAM, streams.ENGINE_CONSUMER)
        # With AckPolicy.ALL one ack of the batch's last message acknowledges all of it.
        self.ack_last_only = streams.setting_value(info.config.ack_policy) == AckPolicy.ALL.value
        self.rpc = [
            await self.nc.subscribe(subjects.RPC_RECEIPT, cb=self._answer_receipt_query),
            await self.nc.subscribe(RPC_STATE, cb=self._answer_state_query),
        ]
        log.warning("engine started at commands position %s", self.committed_seq)

    def _throttle(self) -> CommandThrottle:
        operators = self.settings.operators
        return CommandThrottle(self.settings.command_rate, self.settings.command_burst,
                               exempt=operators.admin | operators.deposit_watchers | operators.settlers)

    async def rebuild(self) -> None:
        """Load every aggregate from the store into a fresh exchange (used at start and on poison)."""
        started = time.perf_counter()
        exchange, position = await asyncio.to_thread(engine_replies.load_exchange, self.store)
        # The first liquidation sweep would evaluate every account: do it now, not on the clock.
        await asyncio.to_thread(exchange.prepare_liquidation_sweep)
        self.committed_seq = position
        self.log_position = await asyncio.to_thread(self.store.recorder.max_notification_id) or 0
        poison = self.applier.poison if self.applier else set()
        self.cache = ReceiptCache()
        self.applier = BatchApplier(exchange, position, self.cache,
                                    snapshot_every=self.settings.snapshot_every,
                                    encode_snapshot=self.store.encode_snapshot,
                                    encode_event=self.store.encode_event,
                                    throttle=self._throttle())
        self.applier.poison = poison
        # The rebuilt state lives as long as the process: keep it out of the collector's full
        # passes (each would walk all of it: a 100 ms pause at a few hundred thousand objects).
        gc.collect()
        gc.freeze()
        log.warning("exchange rebuilt at position %s in %.2fs", position,
                    time.perf_counter() - started)

    # --- the loop ---------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`, three stages in one event loop: intake (fetch + signature checks in a
        worker process + checks + receipt look-up, streaming ahead of the apply) -> apply ->
        commit."""
        self.stopping = stop
        tasks = [asyncio.create_task(self._intake_loop()),
                 asyncio.create_task(self._commit_loop())]
        try:
            while not self.stopping.is_set():
                if self.failure is not None:
                    raise RestartEngine() from self.failure
                if tasks[0].done():  # the intake died (e.g. its worker process was killed)
                    raise RestartEngine("intake stopped") from tasks[0].exception()
                # Group commit: a batch is formed when the committer takes the previous one, so
                # it holds what was checked while that one waited; one batch commits while the
                # next is applied, and no applied batch queues behind another.
                await self._commit_queue_empty()
                checked = await self.checked.take(self.settings.batch_size, timeout=0.5)
                if checked is not None:
                    await self._process(*checked)
        finally:
            self.reading = False  # nats-py's fetch may turn a cancel into a timeout: say it twice
            tasks[0].cancel()
            # What was applied commits before the committer goes: cancelled with a batch still
            # queued, it would leave `close` waiting out its timeout for that batch.
            if self.failure is None and not tasks[1].done():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.commits.join(), 10)
            tasks[1].cancel()
            # Collect them (a stage that ended with the connection on shutdown is not news),
            # without waiting long for one that ignores its cancel.
            done, _ = await asyncio.wait(tasks, timeout=5)
            for task in done:
                if not task.cancelled():
                    task.exception()

    async def _intake_loop(self) -> None:
        """Check commands as they stream in, up to one batch ahead of the apply stage: fetch
        what has arrived, verify the signatures (in the worker process from 16 on), check each
        message, look the command ids up in the store (in a thread)."""
        while self.reading:
            room = await self.checked.room(self.settings.batch_size)
            try:
                messages = await self._fetch_batch(room)
            except (asyncio.TimeoutError, nats.errors.TimeoutError):
                continue
            except (nats.errors.ConnectionClosedError, DeliveryLost):
                raise  # closed for good, or commands went astray: the engine restarts
            except nats.errors.Error as error:  # reconnecting: try again shortly
                log.warning("fetch failed: %r", error)
                await asyncio.sleep(0.2)
                continue
            if not messages:
                await self._check_nothing_astray()
                continue
            began = time.perf_counter()
            incomings = await receive_batch(messages, self.settings.operators, self.verifier)
            self.timings["intake"] += time.perf_counter() - began
            # The look-up leaves out ids the cache knows NOW; ids applied later stay in that same
            # cache until the apply, so `cache or stored` is exact then. A rebuild replaces the
            # cache: `_process` looks again when the cache it gets is not the current one.
            cache = self.applier.cache
            stored = await self._stored_receipts(incomings)
            self.timings["lookup"] += time.perf_counter() - began
            self.checked.put(incomings, stored, cache)

    async def _check_nothing_astray(self) -> None:
        """While idle, at most once a second: were commands delivered to us that never arrived
        (routed through a NATS node as it died)? With nothing after them there is no gap in the
        delivery numbers to see, and the consumer would hand them out again only after its ack
        wait (10 s): ask the consumer, and restart from the store at once if so."""
        now = asyncio.get_running_loop().time()
        if now < self.next_astray_check:
            return
        self.next_astray_check = now + ASTRAY_CHECK_INTERVAL
        try:
            await self.subscription.check_nothing_astray()
        except DeliveryLost:
            raise  # the engine restarts from the store
        except (asyncio.TimeoutError, nats.errors.Error) as error:  # reconnecting: next time
            log.info("consumer info for the idle check failed: %r", error)

    async def _commit_queue_empty(self) -> None:
        """Until the committer has taken every applied batch (it may still be committing one)."""
        while self.commits.qsize():
            self.commit_taken.clear()
            await self.commit_taken.wait()

    async def _stored_receipts(self, incomings: list) -> set:
        """The receipt ids of the batch's new commands that the store already holds (one query
        for the ids the receipt cache does not know)."""
        unknown = self.applier.unknown_receipt_ids(incomings)
        if not unknown:
            return set()
        return await asyncio.to_thread(self.store.stored_receipt_ids, unknown)

    async def _fetch_batch(self, limit: int) -> list:
        """The commands that have streamed in, up to `limit`, without lingering for more;
        waits up to `fetch_timeout` for the first one when there are none."""
        return await self.subscription.fetch(limit, timeout=self.settings.fetch_timeout)

    async def _process(self, incomings: list, stored: set, cache: ReceiptCache) -> None:
        if await self._out_of_order(incomings):
            return
        if cache is not self.applier.cache:  # rebuilt since the look-up: its cache is gone
            stored = await self._stored_receipts(incomings)
        while True:
            try:
                began = time.perf_counter()
                job = self.applier.apply(incomings, stored)
                self.timings["apply"] += time.perf_counter() - began
                break
            except PoisonCommand as poison:
                await self.commits.join()  # the store must hold everything applied before
                self.applier.poison.add(poison.seq)
                await self.rebuild()
                stored = await self._stored_receipts(incomings)  # the new cache is empty
        await self.commits.put(job)

    async def _out_of_order(self, incomings: list) -> bool:
        """True (and re-positioned) if this batch skips a command that still exists."""
        expected = self.applier.applied_seq + 1
        first_new = next((i.seq for i in incomings if i.seq > self.applier.applied_seq), None)
        if first_new is None or first_new == expected:
            return False
        try:
            await self.js.get_msg(streams.COMMANDS_STREAM, expected)
        except nats.js.errors.NotFoundError:
            log.warning("commands %s..%s are gone from the stream; skipping", expected, first_new - 1)
            return False
        # Let what was applied land, then start again from the store: the restart re-positions
        # the consumer at the committed position (the intake may hold later messages).
        log.warning("out of order: expected seq %s, got %s; restarting", expected, first_new)
        await self.commits.join()
        raise RestartEngine(f"gap before seq {first_new}")

    async def _commit_loop(self) -> None:
        while True:
            job = await self.commits.get()
            self.commit_taken.set()
            try:
                if self.failure is None:
                    await self._commit(job)
            except Exception as error:  # noqa: BLE001 - any write failure restarts from the store
                log.exception("commit failed; the engine restarts from the store")
                self.failure = error
            finally:
                self.commits.task_done()

    async def _commit(self, job: CommitJob) -> None:
        notification_ids: list[int] = []
        began = time.perf_counter()
        if job.needs_commit:
            notification_ids = await asyncio.to_thread(self.store.commit, job.events, job.last_seq)
            self.committed_seq = job.last_seq
            if notification_ids:
                self.log_position = notification_ids[-1]
        if job.snapshots:
            await asyncio.to_thread(self.store.save_snapshots, job.snapshots)
        committed = time.perf_counter() - began
        self.timings["commit"] += committed
        self.timings["batches"] += 1
        if self.metrics is not None:
            self.metrics.batch_committed(len(job.messages), committed, self.committed_seq, self.log_position)
            for accepted, reason in engine_replies.outcomes(job):
                self.metrics.command_answered(accepted, reason)
        replies = engine_replies.replies_for(job, notification_ids, self.cache)
        if job.lookups:
            replies += await asyncio.to_thread(engine_replies.stored_replies, job, self.store,
                                               self.cache)
        for subject, reply in replies:
            try:
                await self.nc.publish(subject, engine_replies.encode(reply))
            except Exception as error:  # noqa: BLE001 - a bad reply subject is the bot's problem
                log.info("reply to %r failed: %r", subject, error)
        if self.ack_last_only and job.messages:
            # Fetch order = consumer-sequence order: the last one covers the whole batch.
            await job.messages[-1].ack()
        else:
            for message in job.messages:
                await message.ack()
        self.timings["answer"] += time.perf_counter() - began

    # --- request/reply endpoints -------------------------------------------------------------
    async def _answer_receipt_query(self, message) -> None:
        reply = await asyncio.to_thread(engine_replies.lookup, message.data, self.store, self.cache)
        await message.respond(engine_replies.encode(reply) if reply else b"")

    async def _answer_state_query(self, message) -> None:
        """Position and state hash, once everything applied so far is committed (for tests)."""
        for _ in range(1000):  # under load, wait for a moment when memory == store
            await self.commits.join()
            if self.applier.applied_seq == self.committed_seq:
                break
            await asyncio.sleep(0.01)
        body = {"position": self.committed_seq, "log_position": self.log_position,
                "state_hash": self.applier.exchange.state_hash(),
                "accepted": self.applier.accepted, "rejections": dict(self.applier.rejections),
                "timings": dict(self.timings)}
        await message.respond(msgspec.json.encode(body))

    async def close(self) -> None:
        """Let in-flight commits land, then disconnect."""
        if self.failure is None:
            try:
                await asyncio.wait_for(self.commits.join(), 10)
            except asyncio.TimeoutError:
                pass
        if getattr(self, "nc", None) is not None:
            try:
                await asyncio.wait_for(self.nc.close(), 5)
            except Exception:  # noqa: BLE001 - closing anyway
                pass
        if self.store is not None:
            self.store.close()
        if self.verifier is not None:
            self.verifier.shutdown(wait=False, cancel_futures=True)


RPC_STATE = f"{subjects.ROOT}.rpc.engine.state"


async def run_forever(settings: EngineSettings, stop: asyncio.Event,
                      metrics: EngineMetrics | None = None, readiness: Readiness | None = None) -> None:
    """Run the engine, restarting it from the store after any write-path failure; with
    `metrics`, count its batches and outcomes; with `readiness`, report its NATS connection."""
    def new_engine() -> Engine:
        engine = Engine(settings, metrics)
        if readiness is not None:
            readiness.add("nats", lambda: engine.nc is not None and engine.nc.is_connected)
        return engine

    await run_restarting(new_engine, stop, log, "engine")


def settings_from_arguments(argv: list[str] | None = None) -> EngineSettings:
    """Command-line flags and QD_* variables -> settings (see bus.engine_cli)."""
    from bus.engine_cli import settings_from_arguments as parse  # late: engine_cli imports us

    return parse(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m bus.engine` (see bus.engine_cli)."""
    from bus.engine_cli import main as run

    run(argv)


if __name__ == "__main__":
    main()
