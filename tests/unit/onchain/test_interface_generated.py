"""The committed IDL and C header are exactly what the interface spec generates."""

import hashlib
import json

from onchain.interface import spec
from onchain.interface.__main__ import HEADER_PATH, IDL_PATH
from onchain.interface.c_header import render_header
from onchain.interface.idl import render_idl


def test_committed_idl_and_header_follow_from_the_spec():
    # If this fails: run `python -m onchain.interface` and rebuild with `python -m onchain.build`
    assert IDL_PATH.read_text() == render_idl(spec.PROGRAM_ID)
    assert HEADER_PATH.read_text() == render_header()


def test_discriminators_are_anchor_sighashes():
    header = HEADER_PATH.read_text()
    expected = hashlib.sha256(b"global:settle_batch").digest()[:8]
    assert f"#define QD_IX_SETTLE_BATCH 0x{int.from_bytes(expected, 'little'):016x}ULL" in header
    expected = hashlib.sha256(b"account:UserAccount").digest()[:8]
    assert f"#define QD_ACCOUNT_USER_ACCOUNT 0x{int.from_bytes(expected, 'little'):016x}ULL" in header


def test_error_codes_are_distinct_and_anchor_numbered():
    idl = json.loads(IDL_PATH.read_text())
    codes = [error["code"] for error in idl["errors"]]
    assert codes == list(range(6000, 6000 + len(spec.ERRORS)))
    assert len({error["name"] for error in idl["errors"]}) == len(codes)
