"""The published AsyncAPI document is current and describes the messages we really send."""

import json
from pathlib import Path

import jsonschema
import msgspec
from solders.keypair import Keypair

from bus import asyncapi, wire
from commands import envelope as envelopes
from commands import messages

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.json"


def test_the_committed_document_equals_a_fresh_generation():
    assert DOCUMENT.read_text() == asyncapi.render(), (
        "docs/asyncapi.json is stale: run `python -m bus.asyncapi > docs/asyncapi.json`")


def test_the_document_is_valid_asyncapi_3():
    # FastStream's AsyncAPI 3.0 model parses it: channels, operations, messages, references
    from faststream.specification.asyncapi.v3_0_0.schema import ApplicationSchema

    schema = ApplicationSchema.model_validate(json.loads(DOCUMENT.read_text()))
    assert schema.asyncapi == "3.0.0" and "command_place_order" in schema.channels
    assert "receiveAccountEvents" in schema.operations


def validate(instance: object, message: str) -> None:
    """Validate an instance against one message's payload schema, refs resolved in the doc."""
    document = json.loads(asyncapi.render())
    schema = {**document, **document["components"]["messages"][message]["payload"]}
    jsonschema.Draft202012Validator(schema).validate(instance)


def test_every_command_has_its_channel_and_a_signed_command_matches_its_schema():
    document = asyncapi.document()
    addresses = {channel["address"] for channel in document["channels"].values()}
    for command in messages.Command.__args__:
        assert f"qd.cmd.{asyncapi.subjects.snake_case(command.__name__)}" in addresses

    unsigned = envelopes.UnsignedEnvelope(
        command_id="c1", owner=str(Keypair().pubkey()), nonce=1,
        command=messages.PlaceOrder(market="SOL-PERP", client_order_id="o1", side="buy",
                                    size=10**9, price=100 * 10**6))
    signed = envelopes.sign(unsigned, Keypair(), reply_to="qd.reply.x.y")
    validate(msgspec.json.decode(envelopes.encode(signed)), "PlaceOrderCommand")


def test_an_event_message_matches_its_schema():
    message = wire.EventMessage(
        position=7, event_type="Deposited", aggregate_type="Account", aggregate_id="a",
        aggregate_version=2, at=1, seq=3,
        payload=wire.raw_payload({"sub_account": 0, "asset": "USDC", "amount": 5, "reference": None}))
    validate(msgspec.json.decode(wire.encode(message)), "AccountDeposited")
