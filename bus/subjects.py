"""Every NATS subject QuantDesk uses, in one place.

Commands (stream ``QD_CMD``, published by bots and admins)::

    qd.cmd.<kind>                      kind = snake_case command type, e.g. qd.cmd.place_order

Events (stream ``QD_EVT``, published only by the relay, one message per stored event)::

    qd.evt.<scope>.<key>.<EventType>

    scope  the aggregate kind, snake_case: ``account``, ``market``, ``receipt`` (the
           CommandReceipt aggregate), or the snake_case class name of any other aggregate
    key    the aggregate's business key: the owner's base58 pubkey for ``account`` and
           ``receipt``, the market symbol for ``market`` (e.g. ``SOL-PERP``), the price symbol
           for ``oracle``; ``_`` for a singleton aggregate that has none (``insurance_fund``)
    EventType  the domain event class name, e.g. ``OrderPlaced``

    follow one account (all its sub-accounts):   qd.evt.account.<owner>.>
    follow one account's command receipts:       qd.evt.receipt.<owner>.>
    follow one market:                           qd.evt.market.<MARKET>.>
    one event type everywhere:                   qd.evt.*.*.OrderFilled

Replies (core NATS, never stored): a bot names its reply subject in the command envelope;
the engine publishes the command's receipt there once the command's events are committed.
Bots use ``qd.reply.<owner>.<unique>`` (or any ``_INBOX.>`` subject); neither overlaps a stream.

Engine RPC (core NATS request/reply, served by the engine):

    qd.rpc.receipt        request: ``{"owner": ..., "command_id": ...}`` (or ``<owner>/<command_id>``);
                          reply: the stored receipt (``commands.receipts.Reply``), or an empty
                          body when the command id was never seen
    qd.rpc.engine.state   request: empty; reply: the engine's committed position and state hash

Known limit: a subject token cannot contain ``.``, ``*``, ``>`` or whitespace, so keys are
validated by :func:`token`; market symbols and base58 pubkeys never contain them.
"""

from __future__ import annotations

import re

ROOT = "qd"

COMMANDS_PREFIX = f"{ROOT}.cmd"
COMMANDS_ALL = f"{COMMANDS_PREFIX}.>"

EVENTS_PREFIX = f"{ROOT}.evt"
EVENTS_ALL = f"{EVENTS_PREFIX}.>"

REPLIES_PREFIX = f"{ROOT}.reply"
RPC_RECEIPT = f"{ROOT}.rpc.receipt"
RPC_ENGINE_STATE = f"{ROOT}.rpc.engine.state"

# Aggregate kinds with a dedicated scope name; anything else uses its snake_case class name.
SCOPE_ACCOUNT = "account"
SCOPE_MARKET = "market"
SCOPE_RECEIPT = "receipt"
SCOPE_BY_AGGREGATE = {
    "Account": SCOPE_ACCOUNT,
    "Market": SCOPE_MARKET,
    "CommandReceipt": SCOPE_RECEIPT,
}
# The payload attribute holding the key of each scope (looked up on the aggregate's events).
KEY_ATTRIBUTES = {
    SCOPE_ACCOUNT: ("owner", "owner_pubkey", "account_owner"),
    SCOPE_RECEIPT: ("owner", "owner_pubkey", "account_owner", "signer"),
    SCOPE_MARKET: ("market", "symbol", "market_id"),
    "oracle": ("symbol",),
}
NO_KEY = "_"

# Message headers shared by publishers and consumers of our streams.
HEADER_MSG_ID = "Nats-Msg-Id"
HEADER_POSITION = "Qd-Position"  # the event's notification id in the store's log



def command_msg_id(owner: str, command_id: str) -> str:
    """The `Nats-Msg-Id` of a command: command ids are unique per owner, not across owners,
    so JetStream's duplicate window must key on both (else two bots' ids could collide)."""
    return f"{owner}:{command_id}"


_FORBIDDEN = re.compile(r"[\s.*>]")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def token(value: str) -> str:
    """Return ``value`` as one subject token, refusing characters NATS gives meaning to."""
    if not value or _FORBIDDEN.search(value):
        raise ValueError(f"not a valid subject token: {value!r}")
    return value


def snake_case(name: str) -> str:
    """``PlaceOrder`` -> ``place_order``."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def command(kind: str) -> str:
    """The subject a bot publishes a command of ``kind`` (snake_case) to."""
    return f"{COMMANDS_PREFIX}.{token(kind)}"


def command_for_type(command_type_name: str) -> str:
    """The subject of a command given its class name (``PlaceOrder`` -> ``qd.cmd.place_order``)."""
    return command(snake_case(command_type_name))


def command_kind(subject: str) -> str:
    """The command kind carried by a commands-stream subject."""
    prefix = COMMANDS_PREFIX + "."
    if not subject.startswith(prefix):
        raise ValueError(f"not a command subject: {subject!r}")
    return subject[len(prefix) :]


def scope_of(aggregate_name: str) -> str:
    """The scope token of an aggregate class name (``CommandReceipt`` -> ``receipt``)."""
    return SCOPE_BY_AGGREGATE.get(aggregate_name) or snake_case(aggregate_name)


def event(scope: str, key: str | None, event_type: str) -> str:
    """The subject of one event: ``qd.evt.<scope>.<key>.<EventType>``."""
    return f"{EVENTS_PREFIX}.{token(scope)}.{token(key or NO_KEY)}.{token(event_type)}"


def account_events(owner: str) -> str:
    """Filter subject for every event of one account owner (all sub-accounts)."""
    return f"{EVENTS_PREFIX}.{SCOPE_ACCOUNT}.{token(owner)}.>"


def account_receipts(owner: str) -> str:
    """Filter subject for every command receipt of one account owner."""
    return f"{EVENTS_PREFIX}.{SCOPE_RECEIPT}.{token(owner)}.>"


def market_events(market: str) -> str:
    """Filter subject for every event of one market."""
    return f"{EVENTS_PREFIX}.{SCOPE_MARKET}.{token(market)}.>"


def reply_prefix(owner: str) -> str:
    """The reply-subject prefix a bot of ``owner`` subscribes to (``qd.reply.<owner>.>``)."""
    return f"{REPLIES_PREFIX}.{token(owner)}"


def parse_event(subject: str) -> tuple[str, str, str]:
    """Split an event subject into ``(scope, key, event_type)``."""
    parts = subject.split(".")
    if len(parts) != 5 or f"{parts[0]}.{parts[1]}" != EVENTS_PREFIX:
        raise ValueError(f"not an event subject: {subject!r}")
    return parts[2], parts[3], parts[4]
