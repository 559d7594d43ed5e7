"""The projector's one-pass decode of events-stream messages stays the wire format's twin."""

from __future__ import annotations

import msgspec
import pytest

from bus import subjects, wire
from projections.wire_source import DecodedEventMessage, from_message, make_event, to_message


def test_the_one_pass_decoder_has_the_wire_messages_fields_and_tag():
    # Same field names in the same order, same tag: a field added to the wire shows up here.
    assert DecodedEventMessage.__struct_fields__ == wire.EventMessage.__struct_fields__
    assert DecodedEventMessage.__struct_config__.tag == wire.EventMessage.__struct_config__.tag
    assert (DecodedEventMessage.__struct_config__.tag_field
            == wire.EventMessage.__struct_config__.tag_field)


def test_it_decodes_what_the_two_pass_decoder_does():
    # One event through the relay's encoding, decoded both ways.
    event = make_event(4711, "Market", "OrderPlaced", "BTC-PERP",
                       {"order": {"order_id": "o1", "side": "buy"}, "fills": [{"price": 1}]})
    subject, data = to_message(event)
    message = wire.decode(data)
    assert from_message(subject, data) == event
    assert from_message(subject, data).payload == wire.payload_dict(message)


def test_a_subject_outside_the_events_stream_has_no_key():
    _, data = to_message(make_event(1, "Market", "OrderPlaced", "BTC-PERP", {}))
    assert from_message("other.subject", data).key == subjects.NO_KEY
    assert from_message("qd.evt.market.BTC-PERP", data).key == subjects.NO_KEY


@pytest.mark.parametrize("data", [
    b'{"kind": "other", "position": 1}',
    b'{"kind": "event", "position": 1, "event_type": "X", "aggregate_type": "Market",'
    b' "aggregate_id": "a", "aggregate_version": 1, "at": 1, "seq": 1, "payload": [1]}',
    b'{"position": 1}',
    b"not json",
])
def test_anything_but_an_event_message_with_an_object_payload_is_refused(data):
    with pytest.raises(msgspec.DecodeError):  # ValidationError is a DecodeError
        from_message("qd.evt.market.BTC-PERP.X", data)
