"""The engine's intake: one commands-stream message in, a verified envelope or a rejection out.

Checks, in order (first failure wins, each a `Rejection` code): size, JSON, schema, signer and
signature present, signature valid over the canonical bytes, expiry (against the stream's own
timestamp of the message) or nonce present, operator key for admin and deposit commands.
Whether a non-operator signer is the owner or a delegate needs the domain's state: the
handlers check that (`commands.authorization`).

A command is *authenticated* once its signature verified. Only authenticated commands get a
stored receipt: an unauthenticated message could otherwise burn someone else's command id.
"""

from __future__ import annotations

import asyncio
from collections import deque
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import msgspec

from bus.puller import delivery_numbers
from commands import envelope as envelopes
from commands.envelope import Envelope
from commands.messages import ADMIN_COMMANDS, SETTLER_COMMANDS, WATCHER_COMMANDS
from commands.receipts import receipt_id
from commands.rejections import Rejection

REPLY_HEADER = "Qd-Reply-To"  # alternative to the envelope's unsigned `reply_to`
VERIFY_IN_WORKER_FROM = 16  # messages in a batch from which its signatures go to the worker


@dataclass(frozen=True, slots=True)
class OperatorKeys:
    """Public keys (base58) with operator powers."""

    admin: frozenset[str] = frozenset()
    deposit_watchers: frozenset[str] = frozenset()
    settlers: frozenset[str] = frozenset()


@dataclass(slots=True)
class Incoming:
    """One command message as the engine sees it."""

    seq: int  # commands stream sequence
    at: int  # commands stream timestamp, int ns (the command's time)
    message: Any  # the nats Msg, to ack
    reply_to: str | None = None
    envelope: Envelope | None = None
    authenticated: bool = False
    receipt_id: Any = None  # uuid of the command's receipt, once authenticated
    reason: str = ""  # set when rejected at intake
    detail: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def rejected(self) -> bool:
        return bool(self.reason)


def stream_position(ack_subject: str) -> tuple[int, int]:
    """(stream sequence, timestamp ns) of a command, from its ack subject (the command's time
    is the stream's, to the nanosecond)."""
    sequence, _, at = delivery_numbers(ack_subject)
    return sequence, at


def signature_verdicts(datas: list[bytes]) -> list[bool]:
    """Whether each message is an envelope whose signature verifies (run in a worker process:
    ed25519 verification is most of the intake's CPU)."""
    verdicts = []
    for data in datas:
        try:
            envelope = envelopes.decode(data) if len(data) <= envelopes.MAX_ENVELOPE_BYTES else None
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, ValueError):
            envelope = None
        verdicts.append(
            envelope is not None and bool(envelope.signature) and bool(envelope.signer)
            and envelopes.signature_is_valid(envelope)
        )
    return verdicts


async def receive_batch(messages: list, operators: OperatorKeys, verifier: Executor | None) -> list[Incoming]:
    """Check a fetched batch; the signatures of 16 or more in the `verifier` worker process
    (verification is most of the intake's CPU), of fewer inline: the hop to the worker would
    cost more latency than the verification itself."""
    if verifier is None or len(messages) < VERIFY_IN_WORKER_FROM:
        return [receive(message, operators) for message in messages]
    verdicts = await asyncio.get_running_loop().run_in_executor(
        verifier, signature_verdicts, [message.data for message in messages])
    return [receive(message, operators, verdict) for message, verdict in zip(messages, verdicts)]


def receive(message: Any, operators: OperatorKeys, signature_valid: bool | None = None) -> Incoming:
    """Check one message; never raises for anything a sender can put in it.

    `signature_valid`: the verdict of `signature_verdicts` when computed elsewhere.
    """
    seq, at = stream_position(message.reply)
    headers = message.headers or {}
    incoming = Incoming(seq=seq, at=at, message=message, reply_to=headers.get(REPLY_HEADER))
    data = message.data
    if len(data) > envelopes.MAX_ENVELOPE_BYTES:
        return _reject(incoming, Rejection.OVERSIZED, f"{len(data)} bytes")
    try:
        envelope = envelopes.decode(data)
    except msgspec.ValidationError as error:
        return _reject(incoming, Rejection.INVALID_SCHEMA, str(error))
    except (msgspec.DecodeError, UnicodeDecodeError, ValueError) as error:
        return _reject(incoming, Rejection.MALFORMED, str(error)[:200])
    incoming.envelope = envelope
    incoming.reply_to = envelope.reply_to or incoming.reply_to
    if not envelope.signer or not envelope.signature:
        return _reject(incoming, Rejection.UNSIGNED, "signer and signature are required")
    if signature_valid is None:
        signature_valid = envelopes.signature_is_valid(envelope)
    if not signature_valid:
        return _reject(incoming, Rejection.BAD_SIGNATURE, "signature does not verify")
    command_type = type(envelope.command)
    if command_type in ADMIN_COMMANDS and envelope.signer not in operators.admin:
        return _reject(incoming, Rejection.NOT_AUTHORIZED, "admin command needs the admin key")
    if command_type in WATCHER_COMMANDS and envelope.signer not in (
        operators.admin | operators.deposit_watchers
    ):
        return _reject(incoming, Rejection.NOT_AUTHORIZED, "deposits come from the watcher")
    if command_type in SETTLER_COMMANDS and envelope.signer not in (operators.admin | operators.settlers):
        return _reject(incoming, Rejection.NOT_AUTHORIZED, "settlement records come from the settler")
    incoming.authenticated = True
    incoming.receipt_id = receipt_id(envelope.owner, envelope.command_id)
    if envelope.expires_at is None and envelope.nonce is None:
        return _reject(incoming, Rejection.MISSING_EXPIRY_OR_NONCE, "set expires_at or nonce")
    if envelope.expires_at is not None and envelope.expires_at < at:
        return _reject(incoming, Rejection.EXPIRED, f"expired at {envelope.expires_at} < {at}")
    return incoming


def _reject(incoming: Incoming, reason: Rejection, detail: str) -> Incoming:
    incoming.reason = str(reason)
    incoming.detail = detail
    return incoming


class CheckedCommands:
    """Checked commands waiting for the apply stage, in stream order: the intake puts chunks
    as they are checked, the apply stage takes them all (up to a batch) at once."""

    def __init__(self) -> None:
        self._chunks: deque[tuple[list[Incoming], set, Any]] = deque()
        self.count = 0
        self._changed = asyncio.Event()

    def put(self, incomings: list[Incoming], stored: set, cache: Any) -> None:
        """A checked chunk: its messages, the receipt ids among them already stored, and the
        receipt cache the look-up left out."""
        self._chunks.append((incomings, stored, cache))
        self.count += len(incomings)
        self._changed.set()

    async def room(self, limit: int) -> int:
        """How many more may be checked ahead of the apply stage (waits for some room)."""
        while self.count >= limit:
            self._changed.clear()
            await self._changed.wait()
        return limit - self.count

    async def take(self, limit: int, timeout: float) -> tuple[list[Incoming], set, Any] | None:
        """Whole chunks, at least one, up to `limit` commands (one chunk may exceed it), merged;
        None if nothing came within `timeout`. The cache is None when the chunks' caches differ."""
        if not self._chunks:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except asyncio.TimeoutError:
                return None
            if not self._chunks:
                return None
        incomings, stored, cache = self._chunks.popleft()
        incomings, stored = list(incomings), set(stored)
        while self._chunks and len(incomings) + len(self._chunks[0][0]) <= limit:
            more, more_stored, more_cache = self._chunks.popleft()
            incomings += more
            stored |= more_stored
            cache = cache if more_cache is cache else None
        self.count -= len(incomings)
        self._changed.set()
        return incomings, stored, cache
