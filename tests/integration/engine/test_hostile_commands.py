"""Hostile commands: malformed bytes, unknown or missing fields, wrong types, huge messages,
forged signatures, unknown markets and accounts — each answered with a typed rejection, counted,
and the engine goes on serving."""

from __future__ import annotations

import asyncio

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair

from bus.engine import RPC_STATE
from commands import envelope as envelopes
from commands import messages as m
from tests.integration.engine.signing import Bot, signed

STRANGER = Keypair()  # signs valid envelopes for an account that does not exist

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=15,
)


def mutated_envelope(draw) -> bytes:
    """A well-signed envelope, then one field broken (signature no longer matches, or schema)."""
    good = msgspec.json.decode(envelopes.encode(signed(STRANGER, m.OpenAccount())))
    action = draw(st.sampled_from(["drop", "replace", "retag"]))
    if action == "drop":  # a required field, or the signature
        good.pop(draw(st.sampled_from(["command_id", "owner", "command", "signer", "signature"])))
    elif action == "replace":  # any signed field (reply_to is transport) or an unknown one
        key = draw(st.sampled_from(sorted(set(good) - {"reply_to"}) + ["extra_field"]))
        good[key] = draw(json_values.filter(lambda value: value != good.get(key)))
    else:
        good["command"] = {"type": draw(st.text(max_size=12)), **draw(st.dictionaries(st.text(max_size=5), json_values, max_size=3))}
    return msgspec.json.encode(good)


@st.composite
def hostile(draw) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "mutated", "huge", "unknown_market", "unknown_account"]))
    if kind == "bytes":
        return draw(st.binary(max_size=500))
    if kind == "json":
        return msgspec.json.encode(draw(json_values))
    if kind == "mutated":
        return mutated_envelope(draw)
    if kind == "huge":
        return b'{"command_id":"' + b"x" * draw(st.integers(9_000, 60_000)) + b'"}'
    if kind == "unknown_market":
        return envelopes.encode(signed(STRANGER, m.PlaceOrder(
            market=draw(st.from_regex(r"\A[A-Z]{2,5}-PERP\Z")), client_order_id="x", side="buy",
            size=draw(st.integers(1, 2**63 - 1)), price=draw(st.integers(1, 2**63 - 1)))))
    return envelopes.encode(signed(STRANGER, m.Deposit(asset="USDC", amount=1)))  # not the watcher


def hostile_payloads(count: int) -> list[bytes]:
    collected: list[bytes] = []

    @settings(max_examples=count, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(hostile())
    def collect(data: bytes) -> None:
        collected.append(data)

    collect()
    return collected


async def test_every_hostile_message_gets_a_typed_rejection_and_the_engine_goes_on(nc, engine, operator):
    bot = await Bot(nc).start()
    payloads = hostile_payloads(150)

    # Every hostile message is answered with a rejection and a reason code.
    replies = await asyncio.gather(*(bot.send_raw("qd.cmd.hostile", data) for data in payloads))
    for data, reply in zip(payloads, replies):
        assert not reply.accepted and reply.reason, (data[:200], reply)
    reasons = {reply.reason for reply in replies}
    assert {"Malformed", "InvalidSchema", "Oversized"} <= reasons

    # The engine still serves honest users, and it counted what it refused.
    assert (await bot.send(m.OpenAccount())).accepted
    state = msgspec.json.decode((await nc.request(RPC_STATE, b"", timeout=10)).data)
    assert sum(state["rejections"].values()) >= len(payloads)
