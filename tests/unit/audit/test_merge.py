"""Pairing events with chain rows by position: every position once, in order, gaps kept."""

from hypothesis import given
from hypothesis import strategies as st

from audit.log_source import merge_by_position


@given(st.sets(st.integers(1, 200)), st.sets(st.integers(1, 200)))
def test_every_position_of_either_side_appears_once_in_order(event_positions, chain_positions):
    events = [(p, b"id", 1, "t", b"s") for p in sorted(event_positions)]
    chain = [(p, b"prev", b"hash") for p in sorted(chain_positions)]
    merged = list(merge_by_position(iter(events), iter(chain)))
    assert [row[0] for row in merged] == sorted(event_positions | chain_positions)
    for position, raw_id, _, _, state, prev_hash, hash_ in merged:
        assert (state is not None) == (position in event_positions)
        assert (hash_ is not None) == (position in chain_positions)
