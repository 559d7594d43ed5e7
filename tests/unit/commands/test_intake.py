"""The engine's intake checks, on message objects shaped like nats-py's (no server needed)."""

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair

from bus.engine_intake import OperatorKeys, receive, stream_position
from commands import envelope as envelopes
from commands import messages as m
from tests.unit.stream_message import AT, FakeMessage

ADMIN, OWNER = Keypair(), Keypair()
OPERATORS = OperatorKeys(admin=frozenset({str(ADMIN.pubkey())}))


def envelope_bytes(command, keypair=OWNER, owner=None, expires_at=AT + 1, nonce=None) -> bytes:
    unsigned = envelopes.UnsignedEnvelope(
        command_id="c-1", owner=owner or str(keypair.pubkey()), command=command,
        expires_at=expires_at, nonce=nonce,
    )
    return envelopes.encode(envelopes.sign(unsigned, keypair))


def test_stream_position_reads_sequence_and_exact_nanoseconds_from_both_ack_formats():
    assert stream_position("$JS.ACK.QD_CMD.engine.1.42.3.1800000000123456789.0") == (
        42, 1_800_000_000_123_456_789)
    assert stream_position("$JS.ACK.dom.hash.QD_CMD.engine.1.42.3.1800000000123456789.0.r") == (
        42, 1_800_000_000_123_456_789)


def test_a_valid_owner_command_is_authenticated_with_the_stream_time_and_sequence():
    incoming = receive(FakeMessage(envelope_bytes(m.OpenAccount())), OPERATORS)
    assert incoming.authenticated and not incoming.rejected
    assert (incoming.seq, incoming.at) == (7, AT)


def test_rejections_each_have_their_reason():
    def reason(data: bytes) -> str:
        return receive(FakeMessage(data), OPERATORS).reason

    assert reason(b"x" * (envelopes.MAX_ENVELOPE_BYTES + 1)) == "Oversized"
    assert reason(b"\xff{not json") == "Malformed"
    assert reason(b'{"command_id":"c","owner":"x","command":{"type":"Nope"}}') == "InvalidSchema"
    unsigned = envelopes.UnsignedEnvelope(command_id="c", owner=str(OWNER.pubkey()),
                                          command=m.OpenAccount(), expires_at=AT + 1)
    assert reason(msgspec.json.encode(unsigned)) == "Unsigned"
    good = msgspec.json.decode(envelope_bytes(m.OpenAccount()))
    good["sub_account"] = 3
    assert reason(msgspec.json.encode(good)) == "BadSignature"
    assert reason(envelope_bytes(m.OpenAccount(), expires_at=AT - 1)) == "Expired"
    assert reason(envelope_bytes(m.OpenAccount(), expires_at=None)) == "MissingExpiryOrNonce"
    assert reason(envelope_bytes(m.SetOraclePrice(symbol="SOL", price=1))) == "NotAuthorized"
    deposit = m.Deposit(asset="USDC", amount=1)
    assert reason(envelope_bytes(deposit)) == "NotAuthorized"  # a user cannot credit himself


def test_expired_and_nonce_only_rules():
    assert not receive(FakeMessage(envelope_bytes(m.OpenAccount(), expires_at=None, nonce=1)),
                       OPERATORS).rejected
    expired = receive(FakeMessage(envelope_bytes(m.OpenAccount(), expires_at=AT - 1)), OPERATORS)
    assert expired.authenticated  # signed by its owner: it gets a stored receipt


def test_the_admin_key_signs_admin_and_deposit_commands_for_any_owner():
    for command in (m.SetOraclePrice(symbol="SOL", price=1), m.Deposit(asset="USDC", amount=5)):
        data = envelope_bytes(command, keypair=ADMIN, owner=str(OWNER.pubkey()))
        assert not receive(FakeMessage(data), OPERATORS).rejected


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=2000),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                 lambda children: st.lists(children, max_size=4)
                 | st.dictionaries(st.text(max_size=12), children, max_size=5),
                 max_leaves=20).map(msgspec.json.encode),
))
def test_hostile_bytes_are_always_rejected_with_a_reason_and_never_raise(data):
    incoming = receive(FakeMessage(data), OPERATORS)
    assert incoming.rejected and incoming.reason and not incoming.authenticated
