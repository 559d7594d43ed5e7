"""The bot load of the failover tests (a JetStream node lost, the engine's leader lost): bots
that retry with the same command id until answered, a listed and priced SOL-PERP with every
bot funded, and a steady, bounded stream of crossing orders recording each outcome.

Used by tests/integration/cluster/test_node_loss.py and tests/integration/standby/test_takeover.py.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Callable

import nats

from client import BotClient
from commands import messages

USDC = 1_000_000
PACE_SECONDS = 0.02  # per bot between commands: a steady, bounded load


@dataclass(frozen=True)
class Retrying:
    """How patiently a careful bot waits for a receipt in a failover before sending again."""

    reply_timeout: float
    retry_every: float

    async def send(self, bot: BotClient, command, command_id: str, deadline: float, **options):
        """Send with one command id until a receipt comes back (the server or the engine may be
        gone meanwhile); AssertionError after `deadline` (time.monotonic)."""
        while True:
            try:
                return await bot.send(command, command_id=command_id, timeout=self.reply_timeout, **options)
            except (nats.errors.Error, asyncio.TimeoutError) as error:
                if time.monotonic() > deadline:
                    raise AssertionError(f"no receipt for {command_id}: {error!r}") from error
                await asyncio.sleep(self.retry_every)


async def list_market_and_fund(retrying: Retrying, operator: BotClient, bots: list[BotClient],
                               deadline: float) -> None:
    """The operator lists SOL-PERP at 100 USDC; each bot opens its account and is funded."""
    market = messages.CreateMarket(
        market="SOL-PERP", base_asset="SOL", tick_size=10_000, lot_size=1_000_000,
        min_size=1_000_000, max_leverage=20, initial_margin_bps=500,
        maintenance_margin_bps=250, maker_fee_bps=0, taker_fee_bps=5)
    assert (await retrying.send(operator, market, "market", deadline)).accepted
    price = messages.SetOraclePrice(symbol="SOL", price=100 * USDC)
    assert (await retrying.send(operator, price, "price", deadline)).accepted
    # (command ids unique across bots: the stream's duplicate window is keyed by the id alone)
    for bot in bots:
        opened = await retrying.send(bot, messages.OpenAccount(), f"open-{bot.owner}", deadline)
        deposit = messages.Deposit(asset="USDC", amount=100_000 * USDC, chain_tx=f"dev-{bot.owner[:8]}")
        funded = await retrying.send(operator, deposit, f"fund-{bot.owner}", deadline, owner=bot.owner)
        assert opened.accepted and funded.accepted, (opened, funded)


async def steady_orders(retrying: Retrying, bot: BotClient, index: int, until: float, outcomes: dict,
                        answered_at: list[float], id_prefix: str, clock: Callable[[], float]) -> None:
    """Alternate crossing buys and sells at 100 USDC until `until` (time.monotonic); record each
    outcome under (owner, command id) and the `clock()` time it was answered at."""
    side = "sell" if index % 2 else "buy"
    number = 0
    while time.monotonic() < until:
        number += 1
        command_id = f"{id_prefix}{index}-{number}-{uuid.uuid4().hex[:6]}"
        order = messages.PlaceOrder(market="SOL-PERP", side=side, size=1_000_000, price=100 * USDC,
                                    client_order_id=f"o{number}")
        outcomes[(bot.owner, command_id)] = await retrying.send(bot, order, command_id, until + 60)
        answered_at.append(clock())
        await asyncio.sleep(PACE_SECONDS)


class SteadyLoad:
    """Every bot sends `steady_orders` for `seconds` from now, each with its own index; their
    outcomes and answer times collect in `outcomes` and `answered_at`."""

    def __init__(self, retrying: Retrying, bots: list[BotClient], seconds: float, id_prefix: str,
                 clock: Callable[[], float]) -> None:
        self.outcomes: dict = {}
        self.answered_at: list[float] = []
        self.until = time.monotonic() + seconds
        self.tasks = [asyncio.create_task(steady_orders(retrying, bot, i, self.until, self.outcomes,
                                                        self.answered_at, id_prefix, clock))
                      for i, bot in enumerate(bots)]

    async def finished(self) -> None:
        """Wait for every bot's orders to end (raising the first failure)."""
        await asyncio.gather(*self.tasks)


async def close_clients(clients) -> None:
    """Close every bot client, each within 5 s, whatever happened to the others."""
    for client in clients:
        try:
            await asyncio.wait_for(client.close(), 5)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
