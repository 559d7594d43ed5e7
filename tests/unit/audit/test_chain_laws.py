"""Laws of the chain verifier (pure): any single change to a stored log is caught, at the
first changed position, whatever the field; an untouched log always verifies."""

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from audit.canonical import GENESIS_HASH, canonical_record, next_hash
from audit.chain import LogRow, verify_rows

events = st.lists(st.tuples(st.uuids(), st.integers(1, 50),
                            st.sampled_from(["domain.account:Account.Deposited", "m:X.Y"]),
                            st.binary(min_size=1, max_size=40)), min_size=1, max_size=10)


def chained(raw: list) -> list[LogRow]:
    """The log as the trigger stores it: positions with gaps, each row with its chain entry."""
    rows, head = [], GENESIS_HASH
    for index, (originator_id, version, topic, state) in enumerate(raw):
        position = 3 * index + 1
        new_head = next_hash(head, canonical_record(position, originator_id, version, topic, state))
        rows.append(LogRow(position, originator_id, version, topic, state, head, new_head))
        head = new_head
    return rows


@given(events)
def test_an_untouched_log_verifies(raw):
    verifier, found = verify_rows(chained(raw))
    assert found is None and verifier.checked == len(raw)


@given(events, st.data())
def test_any_single_change_is_caught_at_the_changed_event(raw, data):
    rows = chained(raw)
    index = data.draw(st.integers(0, len(rows) - 1))
    row = rows[index]
    field = data.draw(st.sampled_from(["state", "topic", "version", "position", "drop", "hash"]))
    if field == "state":
        at = data.draw(st.integers(0, len(row.state) - 1))
        changed = row.state[:at] + bytes([row.state[at] ^ 1]) + row.state[at + 1:]
        rows[index] = dataclasses.replace(row, state=changed)
    elif field == "topic":
        rows[index] = dataclasses.replace(row, topic=row.topic + "x")
    elif field == "version":
        rows[index] = dataclasses.replace(row, originator_version=row.originator_version + 1)
    elif field == "position":
        rows[index] = dataclasses.replace(row, position=row.position + 1)
    elif field == "hash":
        rows[index] = dataclasses.replace(row, hash=bytes(32))
    else:  # the event and its chain entry both removed: caught at the next event, if any
        del rows[index]
    _, found = verify_rows(rows)
    if field == "drop":
        assert (found is None) == (index == len(raw) - 1)  # removing the last event needs the anchor
        if found is not None:
            assert found.position == raw_position(index + 1)
    else:
        assert found is not None and found.position in (row.position, row.position + 1)


def raw_position(index: int) -> int:
    return 3 * index + 1
