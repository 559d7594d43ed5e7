"""The bot client: build, sign and send commands, await their receipts, follow the account.

    client = await BotClient.connect("nats://127.0.0.1:4222", keypair)
    receipt = await client.open_account()
    receipt = await client.place_order("SOL-PERP", "buy", size=10**9, price=150 * 10**6)
    if not receipt.accepted: print(receipt.reason, receipt.message)
    async for event in client.account_events(): ...

Sending: the envelope (``commands.envelope``) is signed by the client's key, for its own account
or — for a delegate or an operator — for ``owner=...``; it is published to ``qd.cmd.<kind>`` with
``Nats-Msg-Id`` = owner:command id (JetStream drops a repeat within its duplicate window) and with
``reply_to`` = this client's reply subject, where the engine sends the receipt after commit.
A repeat the stream dropped, or a reply lost in a reconnect, is answered by the engine's
``qd.rpc.receipt`` lookup instead, so ``send`` always ends with the one stored outcome.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import msgspec
from nats.aio.client import Client
from solders.keypair import Keypair

from bus import nats_servers, subjects
from bus.relay_publisher import PipelinedPublisher
from client.events import EventFeed
from commands import envelope as envelopes
from commands import messages
from commands.receipts import Reply

Receipt = Reply  # the typed outcome of a command: accepted, reason, message, position, ...

EXPIRY_NS = 60 * 1_000_000_000
_reply_decoder = msgspec.json.Decoder(Reply)


def _fail_if_refused(ack: asyncio.Future, receipt: asyncio.Future) -> None:
    if ack.cancelled() or receipt.done():
        return
    if ack.exception() is not None:
        receipt.set_exception(ack.exception())


class ReceiptTimeout(TimeoutError):
    """No receipt arrived and the engine does not know the command (yet)."""


class BotClient:
    """One key's connection to QuantDesk."""

    def __init__(self, connection: Client, keypair: Keypair, *, owner: str | None = None,
                 sub_account: int = 0) -> None:
        self.connection = connection
        self.js = connection.jetstream()
        self.keypair = keypair
        self.signer = str(keypair.pubkey())
        self.owner = owner or self.signer
        self.sub_account = sub_account
        self.reply_subject = f"{subjects.reply_prefix(self.signer)}.{uuid.uuid4().hex}"
        self._waiting: dict[tuple[str, str], asyncio.Future[Reply]] = {}
        self._reply_subscription = None
        self._publisher: PipelinedPublisher | None = None

    @classmethod
    async def connect(cls, nats_url: str, keypair: Keypair, **options) -> "BotClient":
        """Connect to NATS (one URL, or several comma-separated: a cluster) and listen for receipts."""
        connection = await nats_servers.connect(nats_url, "qd-bot")
        client = cls(connection, keypair, **options)
        await client.start()
        return client

    async def start(self) -> None:
        """Subscribe to this client's reply subject."""
        self._reply_subscription = await self.connection.subscribe(self.reply_subject, cb=self._on_reply)

    async def close(self) -> None:
        """Unsubscribe and disconnect."""
        await self.connection.drain()

    # --- sending ------------------------------------------------------------------------------
    def _signed(self, command: messages.Command, owner: str, sub_account: int | None,
                command_id: str) -> envelopes.Envelope:
        unsigned = envelopes.UnsignedEnvelope(
            command_id=command_id, owner=owner,
            sub_account=self.sub_account if sub_account is None else sub_account,
            command=command, expires_at=time.time_ns() + EXPIRY_NS,
        )
        return envelopes.sign(unsigned, self.keypair, reply_to=self.reply_subject)

    async def submit(self, command: messages.Command, *, owner: str | None = None,
                     sub_account: int | None = None, command_id: str | None = None
                     ) -> asyncio.Future[Receipt]:
        """Publish without waiting (pipelined, for throughput); the future resolves to the receipt.

        The stream's ack is not awaited here: a refused publish (e.g. oversized) fails the
        future with ``bus.relay_publisher.PublishRefused``.
        """
        owner = owner or self.owner
        command_id = command_id or uuid.uuid4().hex
        key = (owner, command_id)
        future = self._waiting.get(key) or asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        future.add_done_callback(lambda _: self._waiting.pop(key, None))
        if self._publisher is None:
            self._publisher = await PipelinedPublisher(self.connection).start()
        ack = await self._publisher.publish(
            subjects.command_for_type(type(command).__name__),
            envelopes.encode(self._signed(command, owner, sub_account, command_id)),
            {subjects.HEADER_MSG_ID: subjects.command_msg_id(owner, command_id)},
        )
        ack.add_done_callback(lambda done: _fail_if_refused(done, future))
        return future

    async def send(self, command: messages.Command, *, owner: str | None = None,
                   sub_account: int | None = None, command_id: str | None = None,
                   timeout: float = 10.0) -> Receipt:
        """Sign and publish one command; return its receipt (accepted or rejected with a reason)."""
        owner = owner or self.owner
        command_id = command_id or uuid.uuid4().hex
        signed = self._signed(command, owner, sub_account, command_id)
        key = (owner, command_id)
        future = self._waiting.get(key) or asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        try:
            ack = await self.js.publish(
                subjects.command_for_type(type(command).__name__), envelopes.encode(signed),
                headers={subjects.HEADER_MSG_ID: subjects.command_msg_id(owner, command_id)},
            )
            wait = 1.0 if ack.duplicate else timeout  # a dropped repeat gets no new reply
            try:
                return await asyncio.wait_for(asyncio.shield(future), wait)
            except asyncio.TimeoutError:
                stored = await self.lookup_receipt(command_id, owner=owner)
                if stored is None:
                    raise ReceiptTimeout(f"no receipt for command {command_id}") from None
                return stored
        finally:
            self._waiting.pop(key, None)

    async def lookup_receipt(self, command_id: str, *, owner: str | None = None,
                             timeout: float = 5.0) -> Receipt | None:
        """The stored outcome of a command id (None if the engine never saw it)."""
        request = msgspec.json.encode({"owner": owner or self.owner, "command_id": command_id})
        response = await self.connection.request(subjects.RPC_RECEIPT, request, timeout=timeout)
        return _reply_decoder.decode(response.data) if response.data else None

    async def _on_reply(self, message) -> None:
        try:
            reply = _reply_decoder.decode(message.data)
        except msgspec.DecodeError:
            return
        future = self._waiting.get((reply.owner, reply.command_id))
        if future is not None and not future.done():
            future.set_result(reply)

    # --- the commands, by name ----------------------------------------------------------------
    async def open_account(self) -> Receipt:
        """Open this client's (owner, sub-account)."""
        return await self.send(messages.OpenAccount())

    async def place_order(self, market: str, side: str, *, size: int, price: int | None = None,
                          client_order_id: str | None = None, **options) -> Receipt:
        """Place an order (size in 1e9 base units, price in 1e6 quote units)."""
        return await self.send(messages.PlaceOrder(
            market=market, side=side, size=size, price=price,
            client_order_id=client_order_id or uuid.uuid4().hex[:16], **options,
        ))

    async def cancel_order(self, market: str, client_order_id: str) -> Receipt:
        """Cancel one order by its client order id."""
        return await self.send(messages.CancelOrder(market=market, client_order_id=client_order_id))

    async def cancel_all(self, market: str | None = None) -> Receipt:
        """Cancel every order of this account (in one market, or everywhere)."""
        return await self.send(messages.CancelAll(market=market))

    async def request_withdrawal(self, asset: str, amount: int) -> Receipt:
        """Withdraw free collateral to the owner's wallet."""
        return await self.send(messages.RequestWithdrawal(asset=asset, amount=amount))

    # --- operator commands (the key must be an admin / deposit-watcher key) -------------------
    async def deposit_for(self, owner: str, asset: str, amount: int, sub_account: int = 0,
                          chain_tx: str = "") -> Receipt:
        """Credit a deposit to ``owner`` (dev path: signed by the admin or watcher key)."""
        return await self.send(messages.Deposit(asset=asset, amount=amount, chain_tx=chain_tx),
                               owner=owner, sub_account=sub_account)

    # --- following ----------------------------------------------------------------------------
    def account_events(self, *, from_start: bool = False) -> EventFeed:
        """This owner's events (``qd.evt.account.<owner>.>``), in log order."""
        return EventFeed(self.js, subjects.account_events(self.owner), from_start=from_start)

    def market_events(self, market: str, *, from_start: bool = False) -> EventFeed:
        """One market's events (``qd.evt.market.<MARKET>.>``), in log order."""
        return EventFeed(self.js, subjects.market_events(market), from_start=from_start)

    def receipts(self, *, from_start: bool = False) -> EventFeed:
        """This owner's stored command receipts (``qd.evt.receipt.<owner>.>``)."""
        return EventFeed(self.js, subjects.account_receipts(self.owner), from_start=from_start)
