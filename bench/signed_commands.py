"""Signed commands for load benchmarks: a market with funded bots, crossing orders signed in
advance (signing is never measured), and a windowed JetStream publisher."""

from __future__ import annotations

import asyncio
import time
import uuid

from solders.keypair import Keypair

from bus import subjects
from commands import envelope as envelopes
from commands import messages

USDC = 1_000_000


def signed(keypair: Keypair, command, owner: str | None = None) -> tuple[str, bytes, str]:
    """(subject, wire bytes, command id) of one signed command."""
    command_id = uuid.uuid4().hex
    unsigned = envelopes.UnsignedEnvelope(command_id=command_id, owner=owner or str(keypair.pubkey()),
                                          command=command, expires_at=time.time_ns() + 600 * 10**9)
    data = envelopes.encode(envelopes.sign(unsigned, keypair))
    return subjects.command_for_type(type(command).__name__), data, command_id


def set_up(admin: Keypair, bots: list[Keypair]) -> list[tuple[str, bytes, str]]:
    """A market, its price, and funded accounts for every bot."""
    batch = [signed(admin, messages.CreateMarket(
        market="SOL-PERP", base_asset="SOL", tick_size=10_000, lot_size=1_000_000, min_size=1_000_000,
        max_leverage=20, initial_margin_bps=500, maintenance_margin_bps=250, maker_fee_bps=0,
        taker_fee_bps=5)), signed(admin, messages.SetOraclePrice(symbol="SOL", price=100 * USDC))]
    for bot in bots:
        batch.append(signed(bot, messages.OpenAccount()))
        batch.append(signed(admin, messages.Deposit(asset="USDC", amount=10_000_000 * USDC),
                            owner=str(bot.pubkey())))
    return batch


def orders(bots: list[Keypair], count: int) -> list[tuple[str, bytes, str]]:
    """`count` crossing limit orders around 100 USDC, signed in advance (signing is not measured)."""
    load = []
    for i in range(count):
        side = "buy" if i % 2 else "sell"
        price = (100 + (1 if side == "buy" else -1) * (i % 3)) * USDC
        load.append(signed(bots[i % len(bots)], messages.PlaceOrder(
            market="SOL-PERP", side=side, size=1_000_000, price=price, client_order_id=f"o{i}")))
    return load


async def publish_all(js, batch: list[tuple[str, bytes, str]], window: int = 2000) -> None:
    """Publish (subject, data, message id) triples with Nats-Msg-Id, up to `window` acks outstanding."""
    pending = []
    for subject, data, message_id in batch:
        pending.append(await js.publish_async(subject, data, headers={subjects.HEADER_MSG_ID: message_id}))
        if len(pending) >= window:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
