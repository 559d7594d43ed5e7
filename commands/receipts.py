"""Receipts: every command's terminal outcome, stored once, replied, and queryable forever.

A receipt is stored as the single event (version 1) of a `CommandReceipt` aggregate whose id is
`receipt_id(owner, command_id)` (uuid5). Stored in the same transaction as the command's events,
the store's primary key (originator_id, originator_version) makes "this command id was seen" a
database fact: a second receipt for the same id cannot be committed. The receipt also travels on
the events stream (via the relay) so projections can build a receipts read model.

`Reply` is what the bot receives on its reply subject: the receipt plus the notification ids the
command's events got in the log (known only after commit). `position` — the highest of them — is
the consistency token a reader can wait for in the projections.
"""

from __future__ import annotations

import datetime
import uuid

import msgspec
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

RECEIPT_NAMESPACE = uuid.UUID("6f1c2b1e-6a53-4d0c-9a57-2f0d8f4a1c11")


def receipt_id(owner: str, command_id: str) -> uuid.UUID:
    """The receipt aggregate's id: derived from the natural key, so the store dedups it."""
    return uuid.uuid5(RECEIPT_NAMESPACE, f"{owner}/{command_id}")


class CommandReceipt(Aggregate):
    """The write-once record of one command's outcome (never changed after version 1)."""

    class Recorded(Aggregate.Created):
        command_id: str
        owner: str
        sub_account: int
        kind: str  # the command's tag, e.g. PlaceOrder
        seq: int  # commands stream sequence the engine applied it at
        at: int  # commands stream timestamp, int ns
        accepted: bool
        reason: str  # reason code when rejected, "" when accepted
        message: str
        events: list  # [[originator_id hex, version], ...] the command recorded (not this one)

    def __init__(self, **_: object) -> None:  # only ever built from a Recorded event
        pass


_RECEIPT_TOPIC = get_topic(CommandReceipt)


def new_receipt(
    *, command_id: str, owner: str, sub_account: int, kind: str, seq: int, at: int,
    accepted: bool, reason: str = "", message: str = "", events: list | None = None,
    known_id: uuid.UUID | None = None,
) -> CommandReceipt.Recorded:
    """Build the receipt event directly (cheaper than creating an aggregate per command)."""
    return CommandReceipt.Recorded(
        originator_id=known_id or receipt_id(owner, command_id),
        originator_version=1,
        timestamp=datetime.datetime.fromtimestamp(at // 1_000_000_000, datetime.timezone.utc)
        + datetime.timedelta(microseconds=(at % 1_000_000_000) // 1000),
        originator_topic=_RECEIPT_TOPIC, command_id=command_id, owner=owner,
        sub_account=sub_account, kind=kind, seq=seq, at=at, accepted=accepted,
        reason=reason, message=message[:500], events=events or [],
    )


class Reply(msgspec.Struct, frozen=True, kw_only=True):
    """A command's terminal outcome as sent on the bot's reply subject and by `qd.rpc.receipt`."""

    command_id: str | None
    owner: str | None
    seq: int  # commands stream sequence (0 when the message could not be read)
    at: int
    accepted: bool
    reason: str = ""
    message: str = ""
    kind: str = ""
    notification_ids: list[int] = []  # log positions of the command's events and its receipt
    position: int = 0  # consistency token: the highest of notification_ids
    duplicate: bool = False  # True when answering a repeat: the outcome is the original's


def reply_from_receipt(
    receipt: CommandReceipt.Recorded, notification_ids: list[int], *, duplicate: bool = False
) -> Reply:
    """The reply for a stored receipt."""
    return Reply(
        command_id=receipt.command_id, owner=receipt.owner, seq=receipt.seq,
        at=receipt.at, accepted=receipt.accepted, reason=receipt.reason, message=receipt.message,
        kind=receipt.kind, notification_ids=notification_ids,
        position=max(notification_ids, default=0), duplicate=duplicate,
    )
