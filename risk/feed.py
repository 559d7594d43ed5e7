"""The price feed: `python -m risk.feed synthetic | file PATH | hermes URL`.

Publishes one signed `SetOraclePrice` (Pyth-shaped: price, confidence, exponent, publish time)
per symbol update, with the operator key (QD_ADMIN_KEYFILE convention). Network failures (NATS or
Hermes) are reported and retried with exponential back-off; the process never crashes on them.

- synthetic [--seed N]: a seeded random walk of SOL, BTC and ETH every --interval seconds (make run).
- file PATH: a recorded feed, one JSON line per price; re-stamped to now keeping its spacing
  (divided by --speed) unless --keep-publish-time.
- hermes URL: polls Pyth Hermes `/v2/updates/price/latest` every --interval seconds
  (e.g. https://hermes.pyth.network); --feed SYMBOL=ID adds or overrides a price feed id.

With --metrics-port (default $QD_METRICS_PORT) it serves /metrics (prices published by market and
outcome, oracle validity by market, price age: observability.metrics.PriceFeedMetrics), /healthz
and /readyz (ready = connected to NATS).
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from commands import messages
from risk.backoff import Backoff, report
from risk.commands_out import Sender, admin_keyfile, default_nats_url
from risk.sources import PYTH_FEED_IDS, Hermes, PriceUpdate, SyntheticWalk, now_ns, read_file
from observability.health import add_metrics_port_option, serve_operations
from observability.lifecycle import stop_on_signals
from observability.logs import configure_logging
from observability.metrics import PriceFeedMetrics, outcome_of

log = logging.getLogger("risk.feed")


def command_for(update: PriceUpdate) -> messages.SetOraclePrice:
    """The price command of one update."""
    return messages.SetOraclePrice(
        symbol=update.symbol, price=update.price, confidence=update.confidence, exponent=update.exponent,
        publish_time=update.publish_time,
    )


async def publish(sender: Sender, update: PriceUpdate, metrics: PriceFeedMetrics) -> None:
    """Send one update and record its outcome (and so the oracle's validity) in the metrics."""
    outcome, _reason = outcome_of(await sender.send(command_for(update)))
    metrics.price_answered(update.symbol, update.price, update.confidence, update.exponent, update.publish_time,
                           outcome)


async def run_synthetic(sender: Sender, options, stop: asyncio.Event, metrics: PriceFeedMetrics | None = None) -> None:
    metrics = metrics or PriceFeedMetrics()
    walk = SyntheticWalk(seed=options.seed)
    sent = 0
    while not stop.is_set() and (options.count is None or sent < options.count):
        for update in walk.step(now_ns()):
            await publish(sender, update, metrics)
        sent += 1
        await _sleep(stop, options.interval)


async def run_file(sender: Sender, options, stop: asyncio.Event, metrics: PriceFeedMetrics | None = None) -> None:
    metrics = metrics or PriceFeedMetrics()
    updates = list(read_file(options.path))
    if not updates:
        return
    first, started = updates[0].publish_time, now_ns()
    for update in updates:
        if stop.is_set():
            return
        if not options.keep_publish_time:
            offset = int((update.publish_time - first) / options.speed)
            await _sleep(stop, max(0.0, (started + offset - now_ns()) / 1e9))
            update = PriceUpdate(update.symbol, update.price, update.confidence, update.exponent, started + offset)
        await publish(sender, update, metrics)


async def run_hermes(sender: Sender, options, stop: asyncio.Event, metrics: PriceFeedMetrics | None = None) -> None:
    metrics = metrics or PriceFeedMetrics()
    feeds = dict(PYTH_FEED_IDS)
    feeds.update(dict(item.split("=", 1) for item in options.feed or []))
    hermes = Hermes(options.url, feeds)
    backoff = Backoff()
    last_published: dict[str, int] = {}
    try:
        while not stop.is_set():
            try:
                updates = await hermes.latest()
                backoff.succeeded()
            except Exception as error:  # noqa: BLE001 - any HTTP/parse failure is retried
                delay = backoff.next_delay()
                report(log, f"hermes {options.url}", error, delay, backoff.failures)
                await _sleep(stop, delay)
                continue
            for update in updates:
                if last_published.get(update.symbol) != update.publish_time:  # only new prices
                    last_published[update.symbol] = update.publish_time
                    await publish(sender, update, metrics)
            await _sleep(stop, options.interval)
    finally:
        await hermes.close()


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m risk.feed", description=__doc__.split("\n")[0])
    parser.add_argument("--nats", default=default_nats_url())
    parser.add_argument("--admin-keyfile", default=admin_keyfile())
    parser.add_argument("--interval", type=float, default=1.0)
    add_metrics_port_option(parser)
    sources = parser.add_subparsers(dest="source", required=True)
    synthetic = sources.add_parser("synthetic")
    synthetic.add_argument("--seed", type=int, default=7)
    synthetic.add_argument("--count", type=int, default=None, help="stop after N steps")
    recorded = sources.add_parser("file")
    recorded.add_argument("path")
    recorded.add_argument("--speed", type=float, default=1.0)
    recorded.add_argument("--keep-publish-time", action="store_true")
    hermes = sources.add_parser("hermes")
    hermes.add_argument("url")
    hermes.add_argument("--feed", action="append", help="SYMBOL=PYTH_FEED_ID")
    return parser.parse_args(argv)


async def main(argv: list[str] | None = None) -> dict:
    """Run the chosen source until it ends or SIGINT/SIGTERM; returns the send counts."""
    options = parse(argv)
    configure_logging("price-feed", "INFO")  # JSON lines (observability.logs)
    stop = stop_on_signals()
    sender = Sender(options.nats, options.admin_keyfile, log)
    log.info("price feed %s signing as %s", options.source, sender.signer)
    metrics = PriceFeedMetrics()
    health = serve_operations(options.metrics_port, metrics, log)
    if health is not None:
        health.readiness.add("nats", lambda: sender.connected)
    runner = {"synthetic": run_synthetic, "file": run_file, "hermes": run_hermes}[options.source]
    try:
        await runner(sender, options, stop, metrics)
    finally:
        await sender.close()
        if health is not None:
            health.close()
    log.info("done: %s", sender.counts)
    return sender.counts


if __name__ == "__main__":
    asyncio.run(main())
