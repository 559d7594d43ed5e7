"""Answers: replies after a commit, original outcomes for repeats, and the receipt lookup RPC.

Blocking store reads here run in a worker thread (the engine calls them via `to_thread`).
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from bus.engine_batch import CommitJob, ReceiptCache
from bus.event_store import ExchangeStore
from commands.receipts import Reply, receipt_id, reply_from_receipt

_encoder = msgspec.json.Encoder()


def encode(reply: Reply) -> bytes:
    """A reply's wire bytes (JSON)."""
    return _encoder.encode(reply)


def load_exchange(store: ExchangeStore) -> tuple[Any, int]:
    """The exchange rebuilt from every aggregate in the store, and the position it reflects."""
    from domain.exchange import Exchange

    position = store.position()
    aggregates = [store.repository.get(aggregate_id) for aggregate_id, _ in store.aggregate_ids()]
    return Exchange.from_aggregates(aggregates), position


def replies_for(job: CommitJob, notification_ids: list[int], cache: ReceiptCache) -> list:
    """(subject, reply) for the job's new receipts and intake rejections; caches the receipts."""
    replies = []
    for recorded in job.recorded:
        reply = reply_from_receipt(recorded.receipt, notification_ids[recorded.start:recorded.end])
        cache.put(recorded.receipt.originator_id, reply)
        if recorded.incoming.reply_to:
            replies.append((recorded.incoming.reply_to, reply))
    for incoming, reply in job.answers:
        if incoming.reply_to:
            replies.append((incoming.reply_to, reply))
    return replies


def outcomes(job: CommitJob):
    """(accepted, reason) of every command the job answers, for the metrics; repeats and
    redeliveries answered from the store count as rejected `Duplicate`."""
    for recorded in job.recorded:
        yield recorded.receipt.accepted, recorded.receipt.reason
    for _, reply in job.answers:
        yield reply.accepted, reply.reason
    for _ in job.lookups:
        yield False, "Duplicate"


def stored_replies(job: CommitJob, store: ExchangeStore, cache: ReceiptCache) -> list:
    """(subject, original reply) for repeats and redeliveries (blocking: may read the store)."""
    replies = []
    for incoming, key, duplicate in job.lookups:
        reply = original_reply(key, store, cache)
        if reply is None:  # cannot happen for a committed command; answer rather than stay silent
            reply = Reply(command_id=incoming.envelope.command_id, owner=incoming.envelope.owner,
                          seq=incoming.seq, at=incoming.at, accepted=False,
                          reason="UnknownReceipt", message="no stored receipt")
        elif duplicate:
            reply = msgspec.structs.replace(reply, duplicate=True)
        if incoming.reply_to:
            replies.append((incoming.reply_to, reply))
    return replies


def original_reply(key: uuid.UUID, store: ExchangeStore, cache: ReceiptCache) -> Reply | None:
    """The reply of a stored receipt, from the cache or the store."""
    reply = cache.get(key)
    if reply is not None:
        return reply
    receipt = store.existing_receipts([key]).get(key)
    if receipt is None:
        return None
    refs = [(uuid.UUID(hex_id), version) for hex_id, version in receipt.events]
    notification_ids = store.notification_ids_of([*refs, (key, 1)])
    reply = reply_from_receipt(receipt, notification_ids)
    cache.put(key, reply)
    return reply


class ReceiptQuery(msgspec.Struct, frozen=True, kw_only=True):
    owner: str
    command_id: str


def lookup(data: bytes, store: ExchangeStore, cache: ReceiptCache) -> Reply | None:
    """`qd.rpc.receipt`: body `{"owner": ..., "command_id": ...}` or `<owner>/<command_id>`."""
    try:
        if data[:1] == b"{":
            query = msgspec.json.decode(data, type=ReceiptQuery)
            owner, command_id = query.owner, query.command_id
        else:
            owner, _, command_id = data.decode().partition("/")
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return None
    if not owner or not command_id:
        return None
    return original_reply(receipt_id(owner, command_id), store, cache)
