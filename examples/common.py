"""What the example bots share: flags, dev keys, market set-up and funding, fill printing, and
the start-up of a bot that trades until stopped (`started_bot`).

Money: with a chain (``QD_RPC_URLS``, as in `make run`) a bot deposits on chain itself
(`examples.onchain_funding`). Without one, the dev path: deposits are signed by the operator (admin) key, whose keyfile is
``$QD_ADMIN_KEYFILE`` (else ``$QD_STATE_DIR/keys/admin.json``, else ``.state/keys/admin.json``;
created on first use). The engine must be started with that key as its admin
(``QD_ADMIN_PUBKEY``): ``python -m examples.common admin-pubkey`` prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import AsyncIterator

import nats

from bus.subjects import RPC_ENGINE_STATE
from client import BotClient, fills_of, load_or_create_keypair, new_keypair, pubkey_of
from commands import messages

USDC = 1_000_000  # quote and price units
BASE = 1_000_000_000  # base size units
DEFAULT_ADMIN_KEYFILE = ".state/keys/admin.json"


def admin_keyfile() -> str:
    """Where the dev operator key lives: $QD_ADMIN_KEYFILE, else under $QD_STATE_DIR (make run)."""
    if os.environ.get("QD_ADMIN_KEYFILE"):
        return os.environ["QD_ADMIN_KEYFILE"]
    if os.environ.get("QD_STATE_DIR"):
        return os.path.join(os.environ["QD_STATE_DIR"], "keys", "admin.json")
    return DEFAULT_ADMIN_KEYFILE


def parser(description: str) -> argparse.ArgumentParser:
    """Flags every example takes."""
    arguments = argparse.ArgumentParser(description=description)
    arguments.add_argument("--nats", default=os.environ.get("QD_NATS_URL", "nats://127.0.0.1:4222"))
    arguments.add_argument("--keyfile", help="the bot's Solana keyfile (default: a fresh key)")
    arguments.add_argument("--admin-keyfile", default=admin_keyfile())
    arguments.add_argument("--market", default="SOL-PERP")
    arguments.add_argument("--price", type=Decimal, default=Decimal("100"), help="reference price")
    return arguments


async def connect(options) -> tuple[BotClient, BotClient]:
    """(bot, operator) clients: the bot's own key and the dev admin key, once the engine answers."""
    keypair = load_or_create_keypair(options.keyfile) if options.keyfile else new_keypair()
    bot = await BotClient.connect(options.nats, keypair)
    operator = await BotClient.connect(options.nats, load_or_create_keypair(options.admin_keyfile))
    await wait_for_engine(bot)
    return bot, operator


async def wait_for_engine(bot: BotClient, seconds: float = 120.0) -> None:
    """Wait until the engine answers its state RPC (it declares the streams at start-up)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            await bot.connection.request(RPC_ENGINE_STATE, b"", timeout=2.0)
            return
        except nats.errors.Error:
            if time.monotonic() > deadline:
                sys.exit("the engine does not answer: is `python -m bus.engine` running?")
            await asyncio.sleep(0.5)


async def ensure_market(operator: BotClient, market: str, price: int) -> None:
    """Create the market (a repeat is refused harmlessly) and publish the base asset's price."""
    await operator.send(messages.CreateMarket(
        market=market, base_asset=market.split("-")[0], tick_size=10_000, lot_size=1_000_000,
        min_size=1_000_000, max_leverage=20, initial_margin_bps=500, maintenance_margin_bps=250,
        maker_fee_bps=0, taker_fee_bps=5,
    ))
    receipt = await operator.send(messages.SetOraclePrice(symbol=market.split("-")[0], price=price))
    if not receipt.accepted:
        sys.exit(f"cannot set the oracle price: {receipt.reason} {receipt.message} "
                 f"(is the engine's admin key {pubkey_of(operator.keypair)}?)")


async def open_and_fund(bot: BotClient, operator: BotClient, usdc: int) -> None:
    """Open the bot's account and give it ``usdc`` (whole USDC).

    With a chain configured (``QD_RPC_URLS``, the local devnet in `make run`) the bot deposits on
    chain itself (`examples.onchain_funding`); without one, the operator's dev deposit path
    credits it directly (nothing on chain: only for stacks that have no chain to settle on).
    """
    opened = await bot.open_account()
    print(f"open account {bot.owner}: {'ok' if opened.accepted else opened.reason}", flush=True)
    rpc_urls = [url for url in os.environ.get("QD_RPC_URLS", "").split(",") if url]
    if rpc_urls:
        from examples.onchain_funding import fund_on_chain  # the chain client only when there is a chain

        signature = await fund_on_chain(bot, rpc_urls, os.environ.get("QD_ONCHAIN_ASSETS", "USDC"), usdc * USDC)
        print(f"deposit {usdc} USDC on chain ({signature}): credited", flush=True)
        return
    funded = await operator.deposit_for(bot.owner, "USDC", usdc * USDC, chain_tx=f"dev-{bot.owner[:8]}")
    print(f"deposit {usdc} USDC (dev path): {'ok' if funded.accepted else funded.reason + ' ' + funded.message}",
          flush=True)


def snap(price: int, tick: int = 10_000) -> int:
    """Round a price down to the market's tick."""
    return price // tick * tick


async def print_fills(bot: BotClient, label: str) -> None:
    """Print every fill settled on the bot's account, as it happens."""
    async for event in bot.account_events():
        for market, sub_account, fill in fills_of(event):
            print(f"[{label}] fill {market}/{sub_account} {fill.side} {Decimal(fill.size) / BASE} @ "
                  f"{Decimal(fill.price) / USDC} ({fill.liquidity}, fee {Decimal(fill.fee) / USDC} USDC) "
                  f"log position {event.position}", flush=True)


@dataclass(frozen=True)
class StartedBot:
    """A connected, funded bot with its operator, and the market's reference price (1e6)."""

    bot: BotClient
    operator: BotClient
    reference_price: int


@contextlib.asynccontextmanager
async def started_bot(options, label: str, usdc: int) -> AsyncIterator[StartedBot]:
    """Connect the bot and the operator, list the market at `--price`, fund the bot with `usdc`
    (whole USDC) and print its fills as `label`; on leaving, stop printing and close both."""
    bot, operator = await connect(options)
    reference_price = int(options.price * USDC)
    await ensure_market(operator, options.market, reference_price)
    await open_and_fund(bot, operator, usdc=usdc)
    fills = asyncio.create_task(print_fills(bot, label))
    try:
        yield StartedBot(bot=bot, operator=operator, reference_price=reference_price)
    finally:
        fills.cancel()
        await bot.close()
        await operator.close()


if __name__ == "__main__" and sys.argv[1:] == ["admin-pubkey"]:
    print(pubkey_of(load_or_create_keypair(admin_keyfile())))
