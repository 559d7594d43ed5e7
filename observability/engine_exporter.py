"""Engine metrics without touching the engine: scrape its ``qd.rpc.engine.state`` reply over NATS.

The engine already answers ``qd.rpc.engine.state`` with its committed commands position, log
position, accepted count, rejections by reason and seconds per stage. This exporter asks for it
every ``interval`` seconds and serves the last answer in Prometheus text as the engine's metrics:

    qd_commands_total{outcome,reason}    accepted / rejected by reason code (since the engine's start)
    qd_engine_committed_position         commands-stream sequence committed to the store
    qd_engine_log_position               store position (notification id) of the last committed event
    qd_engine_stage_seconds_total{stage} seconds spent per pipeline stage (read, apply, commit, ...)
    qd_engine_state_age_seconds          age of the last answer (grows while the engine is silent)
    qd_engine_leader                     1 while this process leads (set by bus.standby)

Counters restart from zero when an engine restarts or a standby takes over; Prometheus' rate()
handles such resets. Known limit: each answer makes the engine compute its state hash (O(state))
and wait for its commit queue to drain, so keep the interval in seconds, not milliseconds.

Run it in a process of its own beside ``python -m bus.engine`` (``python -m
observability.engine_exporter --nats URL --port 9100``); ``python -m bus.standby`` runs it in the
leading process itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import msgspec
import nats
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from observability.metrics import ServiceMetrics

RPC_STATE = "qd.rpc.engine.state"  # bus.engine.RPC_STATE, spelled out so we import nothing of the engine


class EngineStateMetrics(ServiceMetrics):
    """The engine's metrics as of its last state answer, plus whether this process leads."""

    service = "engine"

    def __init__(self, version: str = "dev") -> None:
        super().__init__(version)
        self.state: dict = {}
        self.answered_at: float | None = None
        self.leader = self.gauge("qd_engine_leader", "1 while this engine holds the lease.")
        self.leading = False
        self.registry.register(self)

    def set_leading(self, leading: bool) -> None:
        """Whether this process leads (the gauge, and a flag readiness checks can read)."""
        self.leading = leading
        self.leader.set(1 if leading else 0)

    def record(self, state: dict) -> None:
        """Keep the engine's latest state answer."""
        self.state, self.answered_at = state, time.time()

    def collect(self):
        """Prometheus collector protocol: families built from the last answer."""
        if not self.state:
            return
        commands = CounterMetricFamily("qd_commands", "Commands answered, by outcome and reason code.",
                                       labels=["outcome", "reason"])
        commands.add_metric(["accepted", ""], self.state.get("accepted", 0))
        for reason, count in sorted(self.state.get("rejections", {}).items()):
            commands.add_metric(["rejected", reason], count)
        yield commands
        yield GaugeMetricFamily("qd_engine_committed_position", "Commands-stream sequence committed.",
                                value=self.state.get("position", 0))
        yield GaugeMetricFamily("qd_engine_log_position", "Store position of the last committed event.",
                                value=self.state.get("log_position", 0))
        stages = CounterMetricFamily("qd_engine_stage_seconds", "Seconds spent per engine stage.",
                                     labels=["stage"])
        for stage, seconds in sorted(self.state.get("timings", {}).items()):
            stages.add_metric([stage], seconds)
        yield stages
        yield GaugeMetricFamily("qd_engine_state_age_seconds", "Age of the engine's last state answer.",
                                value=time.time() - self.answered_at)

    def describe(self):
        return []  # families vary with the answer; describing none keeps registration lazy


async def follow_engine_state(nc, metrics: EngineStateMetrics, interval: float, stop: asyncio.Event,
                              timeout: float = 10.0) -> None:
    """Ask the engine for its state every `interval` seconds until `stop`; a silent engine only ages."""
    while not stop.is_set():
        try:
            reply = await nc.request(RPC_STATE, b"", timeout=timeout)
            metrics.record(msgspec.json.decode(reply.data))
        except (nats.errors.Error, asyncio.TimeoutError, msgspec.DecodeError):
            pass  # no engine answering right now: qd_engine_state_age_seconds shows it
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except asyncio.TimeoutError:
            pass


def main(argv: list[str] | None = None) -> None:
    """`python -m observability.engine_exporter`: serve the engine's metrics on --port."""
    from observability.health import start_health_server

    parser = argparse.ArgumentParser(prog="python -m observability.engine_exporter")
    parser.add_argument("--nats", default=os.environ.get("QD_NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("QD_METRICS_PORT", "9100")))
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between state requests")
    args = parser.parse_args(argv)
    metrics = EngineStateMetrics()
    metrics.set_leading(True)

    async def run() -> None:
        nc = await nats.connect(servers=args.nats.split(","), max_reconnect_attempts=-1)
        health = start_health_server(args.port, metrics.registry)
        health.readiness.add("nats", lambda: nc.is_connected)
        try:
            await follow_engine_state(nc, metrics, args.interval, asyncio.Event())
        finally:
            health.close()
            await nc.close()

    asyncio.run(run())


if __name__ == "__main__":
    main()
