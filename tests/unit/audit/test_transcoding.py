"""The read-side fast transcoder returns exactly what eventsourcing's own transcoder returns."""

import json
import uuid
from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from audit.replay import default_mapper
from audit.transcoding import ReadFastJSONTranscoder

STOCK = default_mapper(fast=False).transcoder
FAST = default_mapper().transcoder

plain = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**80), 2**80) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=10), plain, max_size=6),
       st.datetimes(timezones=st.just(timezone.utc)), st.uuids())
def test_event_state_decodes_identically(attributes, timestamp, some_id):
    # Encoded by the stock transcoder (as the store does), with custom types in and out of the
    # fast path's reach: the decoded dicts are equal, types included.
    assert isinstance(FAST, ReadFastJSONTranscoder)
    for state in ({"timestamp": timestamp, **attributes}, {**attributes, "id": some_id},
                  {"timestamp": timestamp, "nested": [{"when": timestamp}], **attributes}):
        data = STOCK.encode(state)
        assert FAST.decode(data) == STOCK.decode(data)
        assert repr(FAST.decode(data)) == repr(STOCK.decode(data))


def test_escaped_and_non_standard_json_fall_back():
    # A key spelled with an escape, and NaN (which json accepts and msgspec refuses).
    escaped = b'{"timestamp":{"\\u005ftype_":"datetime_iso","_data_":"2024-01-01T00:00:00+00:00"}}'
    assert FAST.decode(escaped) == STOCK.decode(escaped)
    assert isinstance(FAST.decode(escaped)["timestamp"], datetime)
    not_a_number = b'{"x": NaN}'
    assert json.dumps(FAST.decode(not_a_number)) == json.dumps(STOCK.decode(not_a_number))
    assert uuid.UUID(int=1) == STOCK.decode(STOCK.encode({"u": uuid.UUID(int=1)}))["u"]
