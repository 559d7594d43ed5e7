"""Commands per second end to end through the engine, against a bare JetStream loop.

    python -m bench.engine [--commands 20000] [--rate 2000] [--seconds 5] [--no-relay]

Starts its own nats-server and PostgreSQL (default, durable settings) in a temporary directory.
- `limit`: a bare consume-and-publish loop in its own process: a durable pull consumer fetching
  batches of 1000 from a stream, publishing one reply per message and acking it. The bench
  publishes N messages of a command's size (publish_async) and times first publish -> last reply.
- `value`: the same N as real signed PlaceOrder commands (100 accounts, ~30% crossing) through
  `python -m bus.engine` and `python -m bus.relay` processes: first publish -> the last command's
  receipt EVENT received from the events stream (bot publish -> engine -> committed -> relayed).
  Also reported: `replied_per_s` (first publish -> last reply from the engine), and the CPU
  time the engine (with its signature worker) and the relay spent per command over that phase
  (`engine_cpu_us`, `relay_cpu_us`, from /proc): the figure to compare between code versions on
  a machine shared with others, where wall-clock rates swing with their load (`load_average`).
- `p50_ms`/`p99_ms`: command -> reply latency at a fixed offered load of `--rate` commands/s,
  with where the cores went meanwhile: `cpu_us_at_rate` (µs of CPU per command of the engine
  with its signature worker, the relay, nats-server, PostgreSQL and the bench's own bots) and
  `machine_busy_at_rate` (share of both cores busy): latency is queueing once that nears 1;
  `at_half_rate`: the same at half the rate.
- `skeleton`: the least any engine must do per command, with no domain and no store, in its own
  process: fetch from a stream (one ack per batch), verify the ed25519 signature, reply, publish
  one event to a second stream; the bench times first publish -> last event received. It bounds
  what this machine allows the design (`skeleton_cpu_us`: that process's CPU per command).
All pre-signed before timing; the bench process itself shares the 2 cores with the servers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec
import nats
import uvloop
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from solders.keypair import Keypair

from bench.cpu import CpuShares
from bench.report import emit, percentile
from bus import streams, subjects
from bus.engine import RPC_STATE
from bus.puller import Puller
from commands import envelope as envelopes
from commands import messages as m
from deploy.local.nats import NatsServer
from deploy.local.postgres import Postgres

ROOT = Path(__file__).resolve().parent.parent
BARE_STREAM, BARE_SUBJECT = "BENCH_BARE", "bench.bare.cmd"
REPLY_HEADER = "Qd-Reply-To"
USDC = 1_000_000


# --- the bare limit ------------------------------------------------------------------------
async def bare_consumer(url: str) -> None:
    """Subprocess: fetch, reply, ack — nothing else."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    subscription = await js.pull_subscribe_bind(durable="bare", stream=BARE_STREAM)
    while True:
        try:
            messages = await subscription.fetch(1000, timeout=1)
        except (asyncio.TimeoutError, nats.errors.TimeoutError):
            continue
        for message in messages:
            await nc.publish(message.headers[REPLY_HEADER], b'{"accepted":true}')
        for message in messages:
            await message.ack()


async def measure_bare(url: str, count: int, size: int) -> float:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=BARE_STREAM, subjects=["bench.bare.>"]))
    await js.add_consumer(BARE_STREAM, ConsumerConfig(durable_name="bare", ack_policy=AckPolicy.EXPLICIT,
                                                      max_ack_pending=20_000))
    process = subprocess.Popen([sys.executable, "-m", "bench.engine", "--bare-consumer", url], cwd=ROOT)
    try:
        await asyncio.sleep(1.0)
        done = asyncio.get_running_loop().create_future()
        received = 0

        async def on_reply(_message) -> None:
            nonlocal received
            received += 1
            if received == count and not done.done():
                done.set_result(time.perf_counter())

        await nc.subscribe("bench.replies.>", cb=on_reply)
        payload = b"x" * size
        started = time.perf_counter()
        for index in range(count):
            await js.publish_async(BARE_SUBJECT, payload, headers={REPLY_HEADER: f"bench.replies.{index}"})
        finished = await asyncio.wait_for(done, 120)
        return count / (finished - started)
    finally:
        process.kill()
        await nc.close()


# --- the skeleton: the least work an engine must do per command ------------------------------
SKELETON_STREAM, SKELETON_SUBJECT = "BENCH_SKELETON", "bench.skeleton.cmd"
SKELETON_EVENTS, SKELETON_EVENT_SUBJECT = "BENCH_SKELETON_EVENTS", "bench.skeleton.evt"
EVENT_SIZE = 400  # bytes: about a stored event on the wire


async def skeleton_consumer(url: str) -> None:
    """Subprocess: per command verify the signature, reply, publish one event; ack per batch.
    Pulls as the engine does (`bus.puller`, leaner than nats-py's fetch)."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    puller = Puller(nc, SKELETON_STREAM, "skeleton")
    await puller.start()
    event = b"e" * EVENT_SIZE
    while True:
        messages = await puller.fetch(1000, timeout=1)
        if not messages:
            continue
        for message in messages:
            envelope = envelopes.decode(message.data)
            verdict = b'{"accepted":true}' if envelopes.signature_is_valid(envelope) else b'{"accepted":false}'
            await nc.publish(envelope.reply_to, verdict)
            await js.publish_async(SKELETON_EVENT_SUBJECT, event, headers={"Nats-Msg-Id": envelope.command_id})
        await js.publish_async_completed()
        await puller.ack(messages[-1])


async def measure_skeleton(url: str, count: int) -> tuple[float, float]:
    """(commands/s first publish -> last event received, the consumer's CPU µs per command)."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=SKELETON_STREAM, subjects=[SKELETON_SUBJECT]))
    await js.add_stream(StreamConfig(name=SKELETON_EVENTS, subjects=[SKELETON_EVENT_SUBJECT]))
    await js.add_consumer(SKELETON_STREAM, ConsumerConfig(durable_name="skeleton", ack_policy=AckPolicy.ALL,
                                                          max_ack_pending=20_000))
    commands = order_commands([Keypair() for _ in range(100)], count, "bench.skeleton.reply", id_prefix="s")
    process = subprocess.Popen([sys.executable, "-m", "bench.engine", "--skeleton-consumer", url], cwd=ROOT)
    try:
        await asyncio.sleep(1.0)
        events = Counter(count)
        await nc.subscribe(SKELETON_EVENT_SUBJECT, cb=events.on_message)
        cpu = CpuShares({"skeleton": process.pid})
        started = time.perf_counter()
        for _, data, msg_id in commands:
            await js.publish_async(SKELETON_SUBJECT, data, headers={"Nats-Msg-Id": msg_id})
        finished = await asyncio.wait_for(events.done, 120)
        return count / (finished - started), cpu.per_unit(count)[0]["skeleton"]
    finally:
        process.kill()
        await nc.close()


# --- the engine ----------------------------------------------------------------------------
def order_commands(traders: list[Keypair], count: int, reply_prefix: str, id_prefix: str = "b") -> list:
    """(subject, bytes, msg id) of `count` signed PlaceOrders; ~30% cross the spread."""
    rng = random.Random(1)
    out = []
    for index in range(count):
        trader = traders[index % len(traders)]
        side = "buy" if rng.random() < 0.5 else "sell"
        offset = rng.randint(1, 30) * 10_000
        crossing = rng.random() < 0.3
        price = 100 * USDC + (offset if (side == "buy") == crossing else -offset)
        command = m.PlaceOrder(market="SOL-PERP", client_order_id=f"{id_prefix}{index}", side=side,
                               size=rng.randint(1, 3) * 1_000_000, price=price)
        envelope = envelopes.sign(envelopes.UnsignedEnvelope(
            command_id=f"{id_prefix}{index}", owner=str(trader.pubkey()), command=command,
            expires_at=2**62,
        ), trader, reply_to=f"{reply_prefix}.{index}")
        out.append(("qd.cmd.place_order", envelopes.encode(envelope), f"{envelope.owner}/{id_prefix}{index}"))
    return out


class Counter:
    """Counts replies or relayed receipt events and notes when the n-th arrived."""

    def __init__(self, target: int) -> None:
        self.target, self.count = target, 0
        self.done = asyncio.get_running_loop().create_future()
        self.latencies: list[float] = []
        self.sent_at: dict[str, float] = {}

    async def on_message(self, message) -> None:
        now = time.perf_counter()
        sent = self.sent_at.pop(message.subject, None)
        if sent is not None:
            self.latencies.append(now - sent)
        self.count += 1
        if self.count >= self.target and not self.done.done():
            self.done.set_result(now)


async def send_and_wait(nc, admin: Keypair, owner: str, command, name: str) -> None:
    envelope = envelopes.sign(envelopes.UnsignedEnvelope(
        command_id=name, owner=owner, command=command, expires_at=2**62), admin)
    inbox = nc.new_inbox()
    subscription = await nc.subscribe(inbox, max_msgs=1)
    envelope = msgspec.structs.replace(envelope, reply_to=inbox)
    await nc.jetstream().publish(subjects.command_for_type(type(command).__name__),
                                 envelopes.encode(envelope))
    reply = msgspec.json.decode((await subscription.next_msg(timeout=30)).data)
    if not reply["accepted"]:
        raise RuntimeError(f"set-up command refused: {reply}")


async def paced_latency(nc, traders: list[Keypair], rate: int, seconds: float, pids: dict[str, int],
                        tag: str) -> dict:
    """Command -> reply latency of `rate` commands/s for `seconds`, and where the cores went."""
    count = int(rate * seconds)
    paced = order_commands(traders, count, f"bench.{tag}", id_prefix=tag)
    latency = Counter(count)
    subscription = await nc.subscribe(f"bench.{tag}.>", cb=latency.on_message)
    js = nc.jetstream()
    cpu = CpuShares(pids)
    begin = time.perf_counter()
    for index, (subject, data, msg_id) in enumerate(paced):
        delay = begin + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        latency.sent_at[f"bench.{tag}.{index}"] = time.perf_counter()
        await js.publish_async(subject, data, headers={"Nats-Msg-Id": msg_id})
    await asyncio.wait_for(latency.done, 120)
    cpu_us, busy = cpu.per_unit(count)
    await subscription.unsubscribe()
    ordered = sorted(waited * 1000 for waited in latency.latencies)
    return {"rate": rate, "p50_ms": percentile(ordered, 0.5), "p99_ms": percentile(ordered, 0.99),
            "cpu_us": cpu_us, "machine_busy": busy}


async def measure_engine(url: str, dsn: str, count: int, rate: int, seconds: float, relay: bool,
                         servers: dict[str, int]) -> dict:
    """`servers`: the pids of nats-server and PostgreSQL, whose CPU the paced phase reports."""
    admin = Keypair()
    env = {**os.environ, "QD_ADMIN_PUBKEY": str(admin.pubkey())}
    processes = [subprocess.Popen([sys.executable, "-m", "bus.engine", "--nats", url, "--pg", dsn],
                                  cwd=ROOT, env=env)]
    if relay:
        processes.append(subprocess.Popen([sys.executable, "-m", "bus.relay", "--nats", url, "--pg", dsn],
                                          cwd=ROOT, env=env))
    nc = await nats.connect(url)
    js = nc.jetstream()
    try:
        await streams.declare(js)
        await asyncio.sleep(2.0)
        traders = [Keypair() for _ in range(100)]
        await send_and_wait(nc, admin, str(admin.pubkey()), m.CreateMarket(
            market="SOL-PERP", base_asset="SOL", tick_size=10_000, lot_size=1_000_000,
            min_size=1_000_000, max_leverage=20, initial_margin_bps=500,
            maintenance_margin_bps=250, maker_fee_bps=-1, taker_fee_bps=5), "market")
        await send_and_wait(nc, admin, str(admin.pubkey()), m.SetOraclePrice(symbol="SOL", price=100 * USDC), "price")
        for index, trader in enumerate(traders):
            owner = str(trader.pubkey())
            await send_and_wait(nc, trader, owner, m.OpenAccount(), f"open{index}")
            await send_and_wait(nc, admin, owner, m.Deposit(asset="USDC", amount=1_000_000 * USDC), f"dep{index}")

        # Throughput: everything published as fast as possible.
        commands = order_commands(traders, count, "bench.r")
        replies, relayed = Counter(count), Counter(count)
        listening = [await nc.subscribe("bench.r.>", cb=replies.on_message)]
        if relay:
            receipt_subjects = {subjects.account_receipts(str(t.pubkey())) for t in traders}
            for subject in receipt_subjects:
                listening.append(await nc.subscribe(subject, cb=relayed.on_message))
        cpu = CpuShares({"engine": processes[0].pid, **({"relay": processes[1].pid} if relay else {})})
        started = time.perf_counter()
        for subject, data, msg_id in commands:
            await js.publish_async(subject, data, headers={"Nats-Msg-Id": msg_id})
        replied_at = await asyncio.wait_for(replies.done, 300)
        relayed_at = await asyncio.wait_for(relayed.done, 300) if relay else replied_at
        cpu_used, _ = cpu.per_unit(count)
        engine_state = msgspec.json.decode((await nc.request(RPC_STATE, b"", timeout=30)).data)
        print("engine stage timings (s):", engine_state["timings"], file=sys.stderr)
        for subscription in listening:  # bots elsewhere would not spend these cores on it
            await subscription.unsubscribe()

        # Latency at the fixed offered rate, then at half of it (the machine less busy).
        pids = {**{name: process.pid for name, process in zip(("engine", "relay"), processes)}, **servers}
        at_rate = await paced_latency(nc, traders, rate, seconds, pids, "l")
        at_half = await paced_latency(nc, traders, rate // 2, seconds, pids, "h")
        return {
            "value": count / (relayed_at - started), "replied_per_s": count / (replied_at - started),
            "p50_ms": at_rate["p50_ms"], "p99_ms": at_rate["p99_ms"],
            "offered_rate": rate, "engine_cpu_us": cpu_used["engine"],
            "relay_cpu_us": cpu_used.get("relay", 0.0),
            "cpu_us_at_rate": at_rate["cpu_us"], "machine_busy_at_rate": at_rate["machine_busy"],
            "at_half_rate": at_half, "load_average": os.getloadavg()[0],
        }
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        await nc.close()


async def run(arguments) -> None:
    directory = Path(tempfile.mkdtemp(prefix="qd-bench-engine-"))
    nats_server = NatsServer(directory / "nats").start()
    postgres = Postgres(directory / "pg").start()
    try:
        sample = order_commands([Keypair()], 1, "bench.r.x")[0][1]
        limit = await measure_bare(nats_server.url, arguments.commands, len(sample))
        skeleton, skeleton_cpu_us = await measure_skeleton(nats_server.url, arguments.commands)
        result = await measure_engine(nats_server.url, postgres.dsn, arguments.commands, arguments.rate,
                                      arguments.seconds, not arguments.no_relay,
                                      {"nats": nats_server.process.pid, "postgres": postgres.process.pid})
    finally:
        nats_server.stop()
        postgres.stop()
        shutil.rmtree(directory, ignore_errors=True)
    value = round(result.pop("value"), 1)
    emit(bench="engine", value=value, unit="commands/s", limit=round(limit, 1),
         skeleton=round(skeleton, 1), skeleton_cpu_us=skeleton_cpu_us,
         commands=arguments.commands, relayed=not arguments.no_relay,
         **{key: round(number, 2) if isinstance(number, float) else number
            for key, number in result.items()})


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.engine")
    parser.add_argument("--commands", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--no-relay", action="store_true")
    parser.add_argument("--bare-consumer", metavar="URL")
    parser.add_argument("--skeleton-consumer", metavar="URL")
    arguments = parser.parse_args()
    if arguments.bare_consumer:
        asyncio.run(bare_consumer(arguments.bare_consumer))
        return
    if arguments.skeleton_consumer:
        uvloop.run(skeleton_consumer(arguments.skeleton_consumer))  # as the engine runs
        return
    uvloop.run(run(arguments))  # as the services run: the bots share the 2 cores, cheaper is fairer


if __name__ == "__main__":
    main()
