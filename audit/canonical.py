"""The canonical bytes of a stored event and the hash chain over them (encoding version 1).

Specified in docs/canonical-encoding.md so that an auditor can recompute every hash without our
code. The record binds an event's log position, aggregate id and version, topic and the exact
stored state bytes (no re-encoding: a change of one byte anywhere changes the hash):

    record  = 0x01                                   encoding version, 1 byte
            || int64_be(position)                     the store's notification_id
            || originator_id                          16 bytes, RFC 4122 byte order
            || int64_be(originator_version)
            || uint32_be(len(topic)) || topic          UTF-8
            || uint32_be(len(state)) || state          the stored bytes, verbatim
    hash_n  = SHA-256(hash_{n-1} || record_n)         hash_0 = GENESIS_HASH

Invariant: the same function is implemented in SQL by the chain trigger (audit/chain.py); the
tests check that both agree byte for byte.
"""

from __future__ import annotations

import hashlib
import struct
import uuid

ENCODING_VERSION = 1
GENESIS_LABEL = b"QuantDesk event chain v1 genesis"
GENESIS_HASH = hashlib.sha256(GENESIS_LABEL).digest()
HASH_SIZE = 32

_HEADER = struct.Struct(">Bq16sqI")  # version, position, originator id, version, topic length
_LENGTH = struct.Struct(">I")
_sha256 = hashlib.sha256


def canonical_record(
    position: int, originator_id: uuid.UUID, originator_version: int, topic: str, state: bytes
) -> bytes:
    """The canonical bytes of one stored event (encoding version 1)."""
    topic_bytes = topic.encode("utf-8")
    return b"".join((
        _HEADER.pack(ENCODING_VERSION, position, originator_id.bytes, originator_version,
                     len(topic_bytes)),
        topic_bytes,
        _LENGTH.pack(len(state)),
        state,
    ))


def next_hash(previous_hash: bytes, record: bytes) -> bytes:
    """The chain head after appending `record` to a chain whose head is `previous_hash`."""
    return _sha256(previous_hash + record).digest()


def chain_hashes(previous_hash: bytes, records: list[bytes]) -> list[bytes]:
    """The successive heads after appending each record in turn."""
    heads = []
    head = previous_hash
    for record in records:
        head = _sha256(head + record).digest()
        heads.append(head)
    return heads
