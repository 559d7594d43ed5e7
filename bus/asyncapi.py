"""The AsyncAPI 3.0 document of the bus, generated from the code that defines it.

    python -m bus.asyncapi > docs/asyncapi.json

Sources: subjects from ``bus.subjects``, stream and consumer settings from ``bus.streams``, the
command envelope and the command union from ``commands``, the events-stream message from
``bus.wire``, each domain event's payload from its aggregate's ``@event`` signature, replies from
``commands.receipts``. Schemas are msgspec's JSON schemas. The output is deterministic (sorted
keys, no timestamps) so a test can check that the committed document is current.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import typing
from typing import Any

import msgspec

from bus import streams, subjects, wire
from commands import messages
from commands.envelope import Envelope
from commands.receipts import CommandReceipt, Reply

SCHEMAS = "#/components/schemas/{name}"
_LIFTED = {"at", "seq", "originator_id", "originator_version", "timestamp", "originator_topic"}


class ReceiptQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Request body of ``qd.rpc.receipt``."""

    owner: str
    command_id: str


def aggregates() -> list[type]:
    """Every aggregate whose events reach the events stream (domain ones, then receipts)."""
    import domain.exchange  # noqa: F401 - imports every aggregate module
    from domain.aggregate import DomainAggregate

    found, pending = [], list(DomainAggregate.__subclasses__())
    while pending:
        aggregate = pending.pop()
        found.append(aggregate)
        pending.extend(aggregate.__subclasses__())
    return sorted(found, key=lambda cls: cls.__name__) + [CommandReceipt]


def event_classes(aggregate: type) -> dict[str, type]:
    """The events an aggregate records, by name (those with a payload signature)."""
    return {
        name: value for name, value in sorted(vars(aggregate).items())
        if inspect.isclass(value) and issubclass(value, aggregate.Event)
        and "at" in _payload_fields(value)  # recorded with a command time: a real event
    }


def _payload_fields(event_class: type) -> dict[str, Any]:
    hints = typing.get_type_hints(event_class)
    return {field.name: hints.get(field.name, Any) for field in dataclasses.fields(event_class)}


def payload_struct(aggregate: type, event_name: str, event_class: type) -> type:
    """A Struct describing an event's payload attributes (what ``EventMessage.payload`` holds)."""
    fields = [(name, hint) for name, hint in _payload_fields(event_class).items() if name not in _LIFTED]
    return msgspec.defstruct(f"{aggregate.__name__}{event_name}Payload", fields, kw_only=True)


def document() -> dict[str, Any]:
    """The AsyncAPI document as a dict."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages_: dict[str, Any] = {}
    types: list[type] = [Envelope, wire.EventMessage, Reply, ReceiptQuery]
    _command_channels(channels, operations, messages_)
    _event_channels(channels, operations, messages_, types)
    _reply_channels(channels, operations, messages_)
    _, schemas = msgspec.json.schema_components(types, ref_template=SCHEMAS)
    schemas["EventMessage"]["properties"]["payload"] = {"type": "object"}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "QuantDesk bus",
            "version": "1.0.0",
            "description": (subjects.__doc__ or "").strip(),
        },
        "defaultContentType": "application/json",
        "servers": {"local": {"host": "127.0.0.1:4222", "pathname": "/", "protocol": "nats",
                              "description": "NATS with JetStream (make run)"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages_, "schemas": schemas},
        "x-jetstream": _jetstream_settings(),
    }


def _command_channels(channels: dict, operations: dict, messages_: dict) -> None:
    for command in typing.get_args(messages.Command):
        name = command.__name__
        channel = f"command_{subjects.snake_case(name)}"
        messages_[f"{name}Command"] = {
            "name": name,
            "title": f"{name} (signed envelope)",
            "summary": (command.__doc__ or "").strip().splitlines()[0],
            "headers": _headers({subjects.HEADER_MSG_ID: "the envelope's command_id (dedup)"}),
            "payload": {"allOf": [
                {"$ref": SCHEMAS.format(name="Envelope")},
                {"properties": {"command": {"$ref": SCHEMAS.format(name=name)}}},
            ]},
        }
        channels[channel] = {
            "address": subjects.command_for_type(name),
            "description": f"Stream {streams.COMMANDS_STREAM}. Receipt on the envelope's reply_to.",
            "messages": {name: {"$ref": f"#/components/messages/{name}Command"}},
        }
        operations[f"send{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "reply": {"address": {"location": "$message.payload#/reply_to"},
                      "channel": {"$ref": "#/channels/reply"}},
        }


def _event_channels(channels: dict, operations: dict, messages_: dict, types: list) -> None:
    by_scope: dict[str, dict[str, Any]] = {}
    for aggregate in aggregates():
        scope = subjects.scope_of(aggregate.__name__)
        for event_name, event_class in event_classes(aggregate).items():
            struct = payload_struct(aggregate, event_name, event_class)
            types.append(struct)
            message_name = f"{aggregate.__name__}{event_name}"
            messages_[message_name] = {
                "name": event_name,
                "title": f"{aggregate.__name__}.{event_name}",
                "headers": _headers({subjects.HEADER_MSG_ID: "the event's log position",
                                     subjects.HEADER_POSITION: "the event's log position"}),
                "payload": {"allOf": [
                    {"$ref": SCHEMAS.format(name="EventMessage")},
                    {"properties": {"payload": {"$ref": SCHEMAS.format(name=struct.__name__)}}},
                ]},
            }
            by_scope.setdefault(scope, {})[event_name] = {"$ref": f"#/components/messages/{message_name}"}
    for scope, scope_messages in sorted(by_scope.items()):
        key = subjects.KEY_ATTRIBUTES.get(scope, (None,))[0]
        key_token = f"{{{key}}}" if key else subjects.NO_KEY
        parameters: dict[str, Any] = {"eventType": {"enum": sorted(scope_messages)}}
        if key:
            parameters[key] = {"description": f"the aggregate's {key}"}
        channel = f"events_{scope}"
        channels[channel] = {
            "address": f"{subjects.EVENTS_PREFIX}.{scope}.{key_token}.{{eventType}}",
            "description": f"Stream {streams.EVENTS_STREAM}; follow one with "
                           f"{subjects.EVENTS_PREFIX}.{scope}.{key_token.strip('{}')}.>",
            "parameters": parameters,
            "messages": dict(sorted(scope_messages.items())),
        }
        operations[f"receive{scope.title().replace('_', '')}Events"] = {
            "action": "receive", "channel": {"$ref": f"#/channels/{channel}"},
        }


def _reply_channels(channels: dict, operations: dict, messages_: dict) -> None:
    messages_["Reply"] = {"name": "Reply", "title": "Command receipt",
                          "payload": {"$ref": SCHEMAS.format(name="Reply")}}
    messages_["ReceiptQuery"] = {"name": "ReceiptQuery",
                                 "payload": {"$ref": SCHEMAS.format(name="ReceiptQuery")}}
    channels["reply"] = {
        "address": f"{subjects.REPLIES_PREFIX}.{{signer}}.{{inbox}}",
        "description": "Core NATS (not stored): the receipt of each command, after commit.",
        "parameters": {"signer": {}, "inbox": {}},
        "messages": {"Reply": {"$ref": "#/components/messages/Reply"}},
    }
    channels["rpc_receipt"] = {
        "address": subjects.RPC_RECEIPT,
        "description": "Request/reply served by the engine: a command's stored outcome "
                       "(empty body if the command id was never seen).",
        "messages": {"ReceiptQuery": {"$ref": "#/components/messages/ReceiptQuery"},
                     "Reply": {"$ref": "#/components/messages/Reply"}},
    }
    operations["receiveReply"] = {"action": "receive", "channel": {"$ref": "#/channels/reply"}}
    operations["requestReceipt"] = {
        "action": "send", "channel": {"$ref": "#/channels/rpc_receipt"},
        "messages": [{"$ref": "#/channels/rpc_receipt/messages/ReceiptQuery"}],
        "reply": {"channel": {"$ref": "#/channels/rpc_receipt"},
                  "messages": [{"$ref": "#/channels/rpc_receipt/messages/Reply"}]},
    }


def _headers(described: dict[str, str]) -> dict[str, Any]:
    return {"type": "object", "properties": {
        name: {"type": "string", "description": text} for name, text in described.items()
    }}


def _jetstream_settings() -> dict[str, Any]:
    def stream(config) -> dict[str, Any]:
        return {"name": config.name, "subjects": config.subjects,
                "retention": str(config.retention.value), "storage": str(config.storage.value),
                "max_age_seconds": config.max_age, "max_bytes": config.max_bytes,
                "max_msg_size": config.max_msg_size, "duplicate_window_seconds": config.duplicate_window}

    engine = streams.ENGINE
    return {
        "streams": [stream(config) for config in streams.STREAMS],
        "consumers": [{"stream": streams.COMMANDS_STREAM, "durable": engine.durable_name,
                       "ack_policy": str(engine.ack_policy.value), "ack_wait_seconds": engine.ack_wait,
                       "max_ack_pending": engine.max_ack_pending}],
    }


def render() -> str:
    """The document as stable, pretty JSON."""
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
