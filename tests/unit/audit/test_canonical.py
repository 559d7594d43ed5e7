"""The canonical record and hash chain (pure): a golden vector, and the laws an auditor needs."""

import hashlib
import struct
import uuid

from hypothesis import given
from hypothesis import strategies as st

from audit.canonical import (
    ENCODING_VERSION, GENESIS_HASH, GENESIS_LABEL, canonical_record, chain_hashes, next_hash,
)

EXAMPLE_ID = uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")


def parse_record(record: bytes) -> tuple:
    """An independent parser of the documented layout (what an auditor would write)."""
    version, position, raw_id, originator_version, topic_length = struct.unpack_from(">Bq16sqI", record)
    offset = struct.calcsize(">Bq16sqI")
    topic = record[offset:offset + topic_length].decode("utf-8")
    offset += topic_length
    (state_length,) = struct.unpack_from(">I", record, offset)
    state = record[offset + 4:offset + 4 + state_length]
    assert offset + 4 + state_length == len(record)
    return version, position, uuid.UUID(bytes=raw_id), originator_version, topic, state


def test_the_documented_example_bytes():
    # The worked example of docs/canonical-encoding.md, byte for byte.
    record = canonical_record(7, EXAMPLE_ID, 2, "m:A.B", b'{"x":1}')
    assert record.hex() == (
        "01" "0000000000000007" "0f1e2d3c4b5a69788796a5b4c3d2e1f0" "0000000000000002"
        "00000005" "6d3a412e42" "00000007" "7b2278223a317d"
    )
    assert GENESIS_HASH == hashlib.sha256(b"QuantDesk event chain v1 genesis").digest()
    assert next_hash(GENESIS_HASH, record) == hashlib.sha256(GENESIS_HASH + record).digest()


@given(st.integers(0, 2**63 - 1), st.uuids(), st.integers(1, 2**63 - 1), st.text(max_size=80),
       st.binary(max_size=300))
def test_a_record_parses_back_to_its_fields(position, originator_id, version, topic, state):
    # Lengths prefix every variable field, so the record is unambiguous (injective).
    record = canonical_record(position, originator_id, version, topic, state)
    assert parse_record(record) == (ENCODING_VERSION, position, originator_id, version, topic, state)


@given(st.lists(st.binary(max_size=40), min_size=1, max_size=8), st.data())
def test_changing_any_record_changes_every_later_head(records, data):
    # The head at any position commits to everything before it.
    heads = chain_hashes(GENESIS_HASH, records)
    index = data.draw(st.integers(0, len(records) - 1))
    changed = list(records)
    changed[index] = changed[index] + b"\x00"
    changed_heads = chain_hashes(GENESIS_HASH, changed)
    assert heads[:index] == changed_heads[:index]
    assert all(a != b for a, b in zip(heads[index:], changed_heads[index:]))
    assert GENESIS_LABEL.startswith(b"QuantDesk")


def test_the_worked_example_of_the_documentation():
    # docs/canonical-encoding.md: two real events of one account, positions 1 and 2.
    account = uuid.UUID("fae9d724-c3ec-5267-ad66-c16f1dec499c")
    opened = (b'{"timestamp":{"_type_":"datetime_iso","_data_":"2023-11-14T22:13:20+00:00"},'
              b'"originator_topic":"domain.account:Account","at":1700000000000000000,"seq":1,'
              b'"owner":"9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"}')
    deposited = (b'{"timestamp":{"_type_":"datetime_iso","_data_":"2023-11-14T22:13:20.001000+00:00"},'
                 b'"at":1700000000001000000,"seq":2,"sub_account":0,"asset":"USDC","amount":5000000,'
                 b'"reference":null}')
    assert GENESIS_HASH.hex() == "312b74afe00d74d77b9278957cfadf9f01ebe944659da999183a1a5205e42545"
    first = next_hash(GENESIS_HASH, canonical_record(1, account, 1, "domain.account:Account.Opened", opened))
    assert first.hex() == "038dbf31ca164ed66319646b8bc1dd33100e64b2203de9d407995c79787d42e2"
    second = next_hash(first, canonical_record(2, account, 2, "domain.account:Account.Deposited", deposited))
    assert second.hex() == "360359ce2e4ee8bf95245896e2c3fb819c6bcb89773691ca726cd94d5e9b7d6a"


@given(st.lists(st.tuples(st.integers(1, 2**40), st.uuids(), st.integers(1, 10**6),
                          st.sampled_from(["a:B.C", "domain.market:Market.OrderPlaced", "é:x"]),
                          st.binary(max_size=64)), max_size=12))
def test_the_verifier_computes_the_reference_chain(events):
    # The verifier's cached fast path hashes exactly the documented records.
    from audit.chain import ChainVerifier, LogRow

    records = [canonical_record(*event) for event in events]
    heads = chain_hashes(GENESIS_HASH, records)
    verifier = ChainVerifier()
    previous = GENESIS_HASH
    for event, head in zip(events, heads):
        assert verifier.check(LogRow(*event, prev_hash=previous, hash=head)) is None
        previous = head
    assert verifier.head == (heads[-1] if heads else GENESIS_HASH)
