"""The signed envelope: canonical bytes, signing, verification, strict decoding."""

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair

from commands import envelope as envelopes
from commands import messages as m

KEY = Keypair.from_seed(bytes(range(32)))


def an_order(**overrides) -> m.PlaceOrder:
    fields = dict(market="SOL-PERP", client_order_id="o-1", side="buy", size=10**9, price=100_000_000)
    return m.PlaceOrder(**{**fields, **overrides})


def signed(command=None, **overrides) -> envelopes.Envelope:
    unsigned = envelopes.UnsignedEnvelope(
        command_id="c-1", owner=str(KEY.pubkey()), command=command or an_order(),
        expires_at=2**62, **overrides,
    )
    return envelopes.sign(unsigned, KEY, reply_to="qd.reply.me.1")


def test_canonical_bytes_are_the_domain_prefix_then_compact_json_in_declaration_order():
    envelope = signed()
    data = envelopes.canonical_bytes(envelope)
    assert data.startswith(b"QUANTDESK/cmd/v1\x00{\"command_id\":\"c-1\",\"owner\":")
    assert b'"command":{"type":"PlaceOrder","market":"SOL-PERP"' in data
    # The reply subject is transport, not signed; the signature is not part of what it signs.
    assert b"reply_to" not in data and envelope.signature.encode() not in data
    assert data.endswith(b'"nonce":null,"signer":"' + str(KEY.pubkey()).encode() + b'"}')


def test_a_signed_envelope_round_trips_and_verifies():
    envelope = signed()
    decoded = envelopes.decode(envelopes.encode(envelope))
    assert decoded == envelope
    assert envelopes.signature_is_valid(decoded)


@pytest.mark.parametrize("change", [
    {"sub_account": 1}, {"command_id": "c-2"}, {"expires_at": 2**62 + 1},
    {"command": an_order(size=2 * 10**9)}, {"owner": str(Keypair().pubkey())},
])
def test_any_change_to_a_signed_field_breaks_the_signature(change):
    tampered = msgspec.structs.replace(signed(), **change)
    assert not envelopes.signature_is_valid(tampered)


def test_changing_the_reply_subject_keeps_the_signature_valid():
    assert envelopes.signature_is_valid(msgspec.structs.replace(signed(), reply_to="x.y"))


def test_another_key_signature_does_not_verify_for_the_claimed_signer():
    envelope = signed()
    forged = msgspec.structs.replace(envelope, signer=str(Keypair().pubkey()))
    assert not envelopes.signature_is_valid(forged)


@pytest.mark.parametrize("data", [
    b'{"command_id":"c","owner":"x","command":{"type":"Nope"}}',  # unknown command
    b'{"command_id":"c","owner":"x","command":{"type":"OpenAccount"},"extra":1}',  # unknown field
    b'{"command_id":"c","command":{"type":"OpenAccount"}}',  # missing owner
    b'{"command_id":"c","owner":"x","sub_account":"0","command":{"type":"OpenAccount"}}',  # type
    b'{"command_id":"c d","owner":"x","command":{"type":"OpenAccount"}}',  # id not ASCII token
])
def test_decoding_is_strict(data):
    with pytest.raises(msgspec.ValidationError):
        envelopes.decode(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_decode_into_a_valid_signed_envelope(data):
    try:
        envelope = envelopes.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return
    assert not envelope.signature or not envelopes.signature_is_valid(envelope)


@settings(max_examples=100, deadline=None)
@given(size=st.integers(1, 2**63 - 1), price=st.integers(1, 2**63 - 1),
       sub_account=st.integers(0, 65_535), client_order_id=st.from_regex(r"\A[A-Za-z0-9_.:-]{1,64}\Z"))
def test_every_valid_order_round_trips_and_verifies(size, price, sub_account, client_order_id):
    envelope = signed(an_order(size=size, price=price, client_order_id=client_order_id),
                      sub_account=sub_account)
    decoded = envelopes.decode(envelopes.encode(envelope))
    assert decoded == envelope and envelopes.signature_is_valid(decoded)
