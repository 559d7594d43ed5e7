"""The events stream's wire format: encode -> decode round-trips; anything else is refused."""

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bus import wire
from bus.relay_source import split_topic

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
INT64 = st.integers(0, 2**63 - 1)


@given(
    position=INT64, version=st.integers(1, 2**31), at=INT64, seq=INT64,
    event_type=st.text(min_size=1, max_size=30), aggregate_id=st.uuids(),
    payload=st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=6),
)
def test_encode_then_decode_gives_back_the_message(position, version, at, seq, event_type,
                                                   aggregate_id, payload):
    message = wire.EventMessage(
        position=position, event_type=event_type, aggregate_type="Account",
        aggregate_id=str(aggregate_id), aggregate_version=version, at=at, seq=seq,
        payload=wire.raw_payload(payload),
    )
    decoded = wire.decode(wire.encode(message))
    assert decoded == message
    assert wire.payload_dict(decoded) == payload


@pytest.mark.parametrize("data", [
    b"", b"[]", b"{}", b'{"kind":"command","position":1}',
    b'{"kind":"event","position":"1","event_type":"X","aggregate_type":"A","aggregate_id":"i",'
    b'"aggregate_version":1,"at":0,"seq":0,"payload":{}}',
])
def test_anything_but_an_event_message_is_refused(data):
    with pytest.raises((msgspec.DecodeError, msgspec.ValidationError)):
        wire.decode(data)


def test_a_projector_can_decode_the_payload_into_its_own_type():
    class Deposited(msgspec.Struct):
        asset: str
        amount: int

    message = wire.EventMessage(position=1, event_type="Deposited", aggregate_type="Account",
                                aggregate_id="a", aggregate_version=2, at=1, seq=1,
                                payload=wire.raw_payload({"asset": "USDC", "amount": 5}))
    assert wire.payload_as(message, Deposited) == Deposited(asset="USDC", amount=5)


def test_topics_name_the_aggregate_and_the_event():
    assert split_topic("domain.account:Account.Deposited") == ("Account", "Deposited")
    assert split_topic("commands.receipts:CommandReceipt.Recorded") == ("CommandReceipt", "Recorded")
    assert split_topic("domain.oracle:PriceUpdated") == ("Oracle", "PriceUpdated")
