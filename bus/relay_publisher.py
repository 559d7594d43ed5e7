"""Pipelined JetStream publishing with acks as futures, errors included.

nats-py 2.16's ``JetStreamContext.publish_async`` never resolves the future of a publish the
server refuses (its reply handler raises inside the subscription callback instead of setting
the exception), so a refused ``Nats-Expected-Last-Sequence`` would hang until a timeout. This is
the same mechanism — one wildcard reply subscription, one future per publish — with refusals
delivered as :class:`PublishRefused`.
"""

from __future__ import annotations

import asyncio
import itertools

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg


class PubAck(msgspec.Struct, frozen=True):
    """The server's acknowledgement of a stored message."""

    stream: str = ""
    seq: int = 0
    duplicate: bool = False


class _ApiError(msgspec.Struct, frozen=True):
    code: int = 0
    err_code: int = 0
    description: str = ""


class _Reply(msgspec.Struct, frozen=True):
    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: _ApiError | None = None


class PublishRefused(Exception):
    """The server refused a publish (e.g. wrong last sequence, no stream)."""

    def __init__(self, code: int, err_code: int, description: str) -> None:
        super().__init__(f"{description} (code {code}, err_code {err_code})")
        self.code, self.err_code, self.description = code, err_code, description


WRONG_LAST_SEQUENCE = 10071
_reply_decoder = msgspec.json.Decoder(_Reply)


class PipelinedPublisher:
    """Publishes to JetStream without waiting; each publish returns a future of its ack."""

    def __init__(self, connection: Client) -> None:
        self.connection = connection
        self._prefix = ""
        self._tokens = itertools.count()
        self._pending: dict[str, asyncio.Future[PubAck]] = {}

    async def start(self) -> "PipelinedPublisher":
        """Subscribe the reply inbox (once)."""
        if not self._prefix:
            self._prefix = self.connection.new_inbox()
            await self.connection.subscribe(f"{self._prefix}.*", cb=self._on_reply)
        return self

    async def publish(self, subject: str, data: bytes, headers: dict[str, str]) -> asyncio.Future[PubAck]:
        """Send one message; the returned future resolves to its ack or raises PublishRefused."""
        token = str(next(self._tokens))
        future: asyncio.Future[PubAck] = asyncio.get_running_loop().create_future()
        self._pending[token] = future
        future.add_done_callback(lambda _: self._pending.pop(token, None))
        await self.connection.publish(subject, data, reply=f"{self._prefix}.{token}", headers=headers)
        return future

    async def _on_reply(self, message: Msg) -> None:
        future = self._pending.get(message.subject.rpartition(".")[2])
        if future is None or future.done():
            return
        status = (message.headers or {}).get("Status")
        if status == "503" or not message.data:
            future.set_exception(PublishRefused(503, 0, "no stream answered (no responders)"))
            return
        try:
            reply = _reply_decoder.decode(message.data)
        except msgspec.DecodeError as error:
            future.set_exception(PublishRefused(0, 0, f"undecodable ack: {error}"))
            return
        if reply.error is not None:
            future.set_exception(
                PublishRefused(reply.error.code, reply.error.err_code, reply.error.description)
            )
        else:
            future.set_result(PubAck(reply.stream, reply.seq, reply.duplicate))
