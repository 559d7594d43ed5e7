"""The keeper: `python -m risk.keeper` turns time into commands.

- every --sweep-interval seconds: `RunRiskSweep` (the engine runs the GTT/dead-man expiry sweep
  before every command, then the sweep records oracle validity changes, trips or resets circuit
  breakers, fires trigger orders; with --liquidate, on every --liquidate-every-th sweep, it also
  liquidates, the keeper's own account being the liquidator: it must be opened and funded);
- at each new hour (wall clock, + --funding-delay seconds): `SettleFunding` for every market
  (the engine settles at the command's time; a missed hour is caught up once, never twice).
Signed with the operator key (QD_ADMIN_KEYFILE convention). Failures are reported and retried
with back-off; the keeper never crashes on them. For `make run`:
`python -m risk.keeper --liquidate --dev-fund-usdc 1000000` (a liquidating sweep every second).

With --metrics-port (default $QD_METRICS_PORT) it serves /metrics (sweeps and liquidating sweeps
by outcome and reason, funding settlements, last sweep time: observability.metrics.KeeperMetrics),
/healthz and /readyz (ready = connected to NATS).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time

from commands import messages
from risk.commands_out import Sender, admin_keyfile, default_nats_url
from observability.health import add_metrics_port_option, serve_operations
from observability.lifecycle import stop_on_signals
from observability.logs import configure_logging
from observability.metrics import KeeperMetrics, outcome_of

log = logging.getLogger("risk.keeper")
HOUR_NS = 3600 * 1_000_000_000


def funding_due(last_hour: int | None, now_ns: int, delay_ns: int) -> tuple[bool, int]:
    """(settle now?, the hour to remember): once per hour, `delay_ns` after it starts."""
    hour = (now_ns - delay_ns) // HOUR_NS
    if last_hour is None:
        return False, hour  # the first hour we see is settled by whoever ran before us
    return hour > last_hour, hour


async def dev_fund(sender: Sender, amount: int) -> None:
    """On the local chain when there is one (so settlement batches that move the keeper's money
    land), else by the operator's dev deposit."""
    rpc_urls = [url for url in os.environ.get("QD_RPC_URLS", "").split(",") if url]
    if rpc_urls:
        from examples.onchain_funding import fund_on_chain  # the devnet's faucet: dev only

        await sender.connect()
        await fund_on_chain(sender.client, rpc_urls, os.environ.get("QD_ONCHAIN_ASSETS", "USDC"), amount)
        return
    await sender.send(messages.Deposit(asset="USDC", amount=amount, chain_tx=f"dev-keeper-{time.time_ns()}"))


async def keep(sender: Sender, options, stop: asyncio.Event, metrics: KeeperMetrics | None = None) -> None:
    """The keeper loop."""
    metrics = metrics or KeeperMetrics()
    if options.liquidate:
        await sender.send(messages.OpenAccount())  # AccountExists after the first run: harmless
        if options.dev_fund_usdc:  # dev only: fund the keeper's own (liquidator) account
            await dev_fund(sender, options.dev_fund_usdc * 1_000_000)
    last_hour = None
    sweeps = 0
    while not stop.is_set() and (options.count is None or sweeps < options.count):
        due, last_hour = funding_due(last_hour, time.time_ns(), int(options.funding_delay * 1e9))
        if due:
            receipt = await sender.send(messages.SettleFunding())
            metrics.funding_answered(*outcome_of(receipt))
            log.info("funding settlement: %s", "ok" if receipt and receipt.accepted else receipt)
        # A liquidating sweep evaluates the accounts a price move took out of their safe bands
        # (~0.05-0.1 s at 100k after a 1% move; every account, ~1 s, after a parameter change).
        liquidate = options.liquidate and sweeps % options.liquidate_every == 0
        receipt = await sender.send(messages.RunRiskSweep(liquidate=liquidate))
        metrics.sweep_answered(liquidate, *outcome_of(receipt))
        sweeps += 1
        if sweeps % 60 == 0:
            log.info("sweeps %d, %s", sweeps, sender.counts)
        try:
            await asyncio.wait_for(stop.wait(), timeout=options.sweep_interval)
        except asyncio.TimeoutError:
            pass


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m risk.keeper", description=__doc__.split("\n")[0])
    parser.add_argument("--nats", default=default_nats_url())
    parser.add_argument("--admin-keyfile", default=admin_keyfile())
    parser.add_argument("--sweep-interval", type=float, default=1.0)
    parser.add_argument("--funding-delay", type=float, default=5.0, help="seconds after the hour")
    parser.add_argument("--liquidate", action="store_true", help="liquidate with the keeper's own account")
    parser.add_argument("--liquidate-every", type=int, default=1, help="liquidate on every Nth sweep")
    parser.add_argument("--dev-fund-usdc", type=int, default=0,
                        help="dev: deposit this many USDC into the keeper's account at start (operator key)")
    parser.add_argument("--count", type=int, default=None, help="stop after N sweeps")
    add_metrics_port_option(parser)
    return parser.parse_args(argv)


async def main(argv: list[str] | None = None) -> dict:
    """Run until SIGINT/SIGTERM (or --count sweeps); returns the send counts."""
    options = parse(argv)
    configure_logging("keeper", "INFO")  # JSON lines (observability.logs)
    stop = stop_on_signals()
    sender = Sender(options.nats, options.admin_keyfile, log)
    log.info("keeper signing as %s (liquidate=%s)", sender.signer, options.liquidate)
    metrics = KeeperMetrics()
    health = serve_operations(options.metrics_port, metrics, log)
    if health is not None:
        health.readiness.add("nats", lambda: sender.connected)
    try:
        await keep(sender, options, stop, metrics)
    finally:
        await sender.close()
        if health is not None:
            health.close()
    return sender.counts


if __name__ == "__main__":
    asyncio.run(main())
