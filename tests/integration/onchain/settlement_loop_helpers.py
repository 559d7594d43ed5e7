"""Steps the settlement-loop tests share: traders funded on chain, a crossing trade, a settler
running in the background, a watcher polled once, and what the chain and the log say after.

The stack itself (engine, relay, projector, the program behind a local JSON-RPC server) is
`loop_stack.running_stack`; the fixtures that start it are in test_settlement_loop.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator

from bus.event_store import EVENTS_TABLE
from domain.settlement_batches import settlement_aggregate_id
from onchain.settler.service import Settler
from tests.integration.onchain.loop_stack import MARKET, USDC

SOL = 1_000_000_000


async def eventually(check, timeout: float = 20.0, every: float = 0.1):
    """Wait until ``await check()`` is truthy; return it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(every)


async def chain_balance(stack, trader) -> int:
    """The trader's USDC balance in its on-chain user account (sub-account 0)."""
    return int((await stack.gateway.user_account(trader.keypair.pubkey(), 0)).balances[0])


async def trade(stack, buyer, seller, price_usdc: int, size: int = SOL) -> None:
    """The seller rests an ask; the buyer's bid crosses it (on a freshly published price)."""
    await stack.refresh_price()
    ask = await seller.bot.place_order(MARKET, "sell", size=size, price=price_usdc * USDC)
    assert ask.accepted, ask
    bid = await buyer.bot.place_order(MARKET, "buy", size=size, price=price_usdc * USDC)
    assert bid.accepted, bid


async def poll_watcher_once(watcher) -> int:
    """Start a deposit watcher, read the chain once and close it; the deposits it handled."""
    await watcher.start()
    try:
        return await watcher.poll_once()
    finally:
        await watcher.close()


async def funded_traders(stack):
    """Alice and Bob deposit 900 USDC each on chain; the watcher credits both, once."""
    alice, bob = await stack.trader(1_000 * USDC), await stack.trader(1_000 * USDC)
    for trader in (alice, bob):
        await stack.exchange.deposit(trader.keypair, trader.wallet, 0, 900 * USDC)
    watcher = stack.watcher()
    assert await poll_watcher_once(watcher) == 2
    assert [d.owner for d in watcher.credited] == [alice.owner, bob.owner]
    return alice, bob


async def started_settler(stack, **settings) -> Settler:
    """A settler on the stack's settings (`settings` override them), started."""
    settler = Settler(stack.settler_settings(**settings))
    await settler.start()
    return settler


@contextlib.asynccontextmanager
async def settler_running(settler: Settler) -> AsyncIterator[Settler]:
    """Run a started settler's loop in the background; stop and close it on leaving."""
    stop = asyncio.Event()
    running = asyncio.create_task(settler.run(stop))
    try:
        yield settler
    finally:
        stop.set()
        await running
        await settler.close()


async def paid_out(settler) -> bool:
    """Whether a batch this settler landed paid a withdrawal out."""
    return any(batch.payouts for batch in settler.settled_batches)


async def sequence_is(stack, sequence: int) -> bool:
    """Whether the program's last settled batch sequence is `sequence`."""
    return (await stack.gateway.exchange_state()).last_sequence == sequence


async def equals(awaitable, expected) -> bool:
    """`await awaitable == expected`, as a check for `eventually`."""
    return await awaitable == expected


def settlement_events(stack) -> list[str]:
    """The event types of the log's Settlement aggregate, in order."""
    rows = stack.sql(f"SELECT topic FROM {EVENTS_TABLE} WHERE originator_id = %s ORDER BY originator_version",
                     settlement_aggregate_id())
    return [topic.rsplit(".", 1)[-1] for (topic,) in rows]
