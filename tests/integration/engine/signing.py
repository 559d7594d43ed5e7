"""Test-side helpers: signed command envelopes and a raw JetStream publisher with replies."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid

import msgspec
from solders.keypair import Keypair

from bus import subjects
from commands import envelope as envelopes
from commands import messages as m
from commands.receipts import Reply

_counter = itertools.count()
FAR_FUTURE = 2**62


def signed(keypair: Keypair, command, *, owner: str | None = None, sub_account: int = 0,
           command_id: str | None = None, expires_at: int | None = FAR_FUTURE,
           nonce: int | None = None, reply_to: str = "") -> envelopes.Envelope:
    """An envelope signed by `keypair` (the owner unless `owner` is given)."""
    unsigned = envelopes.UnsignedEnvelope(
        command_id=command_id or f"c-{uuid.uuid4().hex[:16]}",
        owner=owner or str(keypair.pubkey()), sub_account=sub_account, command=command,
        expires_at=expires_at, nonce=nonce,
    )
    return envelopes.sign(unsigned, keypair, reply_to=reply_to)


class Bot:
    """Publishes signed commands to the commands stream and awaits their replies."""

    def __init__(self, nc, keypair: Keypair | None = None) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.keypair = keypair or Keypair()
        self.owner = str(self.keypair.pubkey())
        self.inbox = f"{subjects.REPLIES_PREFIX}.{self.owner}.{uuid.uuid4().hex[:8]}"
        self.replies: dict[str, asyncio.Future] = {}
        self.received: list[Reply] = []

    async def start(self) -> "Bot":
        await self.nc.subscribe(self.inbox + ".>", cb=self._on_reply)
        return self

    async def _on_reply(self, message) -> None:
        reply = msgspec.json.decode(message.data, type=Reply)
        self.received.append(reply)
        future = self.replies.get(message.subject)
        if future is not None and not future.done():
            future.set_result(reply)

    async def publish(self, envelope: envelopes.Envelope, msg_id: str | None = None) -> str:
        """Publish as-is; returns the reply subject the engine will answer on."""
        reply_to = envelope.reply_to
        if not reply_to:
            reply_to = f"{self.inbox}.{next(_counter)}"
            envelope = msgspec.structs.replace(envelope, reply_to=reply_to)
        self.replies.setdefault(reply_to, asyncio.get_running_loop().create_future())
        ack = await self.js.publish(
            subjects.command_for_type(type(envelope.command).__name__),
            envelopes.encode(envelope),
            headers={"Nats-Msg-Id": msg_id or f"{envelope.owner}/{envelope.command_id}"},
        )
        self.last_ack = ack
        return reply_to

    async def send(self, command, *, timeout: float = 10.0, **kwargs) -> Reply:
        """Sign (as this bot's owner unless `owner`/`keypair` say otherwise), send, await."""
        keypair = kwargs.pop("keypair", self.keypair)
        envelope = signed(keypair, command, owner=kwargs.pop("owner", self.owner), **kwargs)
        return await self.wait(await self.publish(envelope), timeout)

    async def send_raw(self, subject: str, data: bytes, *, timeout: float = 10.0) -> Reply:
        """Publish arbitrary bytes with a reply header; await the engine's answer."""
        reply_to = f"{self.inbox}.{next(_counter)}"
        self.replies[reply_to] = asyncio.get_running_loop().create_future()
        await self.js.publish(subject, data, headers={"Qd-Reply-To": reply_to})
        return await self.wait(reply_to, timeout)

    async def wait(self, reply_to: str, timeout: float = 10.0) -> Reply:
        return await asyncio.wait_for(self.replies[reply_to], timeout)


def usdc(amount: float) -> int:
    return int(amount * 1_000_000)


def sol_perp_market(symbol: str = "SOL-PERP") -> m.CreateMarket:
    return m.CreateMarket(
        market=symbol, base_asset=symbol.split("-")[0], tick_size=10_000, lot_size=1_000_000,
        min_size=1_000_000, max_leverage=20, initial_margin_bps=500, maintenance_margin_bps=250,
        maker_fee_bps=-1, taker_fee_bps=5,
    )


def now_ns() -> int:
    return time.time_ns()
