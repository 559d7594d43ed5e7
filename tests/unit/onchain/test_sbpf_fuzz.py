"""Law: whatever bytes come in, the converter either produces output or raises ConversionError."""

import struct

import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from onchain.sbpf import ConversionError, convert
from tests.unit.onchain.bpf_object import CALL_UNRESOLVED, EXIT, LDDW_R1, MOV_R0_0, SHF_ALLOC, minimal_program


def _valid_object() -> bytes:
    obj = minimal_program(LDDW_R1 + CALL_UNRESOLVED + MOV_R0_0 + EXIT)
    obj.sections.append((".rodata", SHF_ALLOC, b"abcdefgh" * 2))
    obj.symbols += [(".rodata", ".rodata", 0, False, 3), ("sol_log_", None, 0, True, 0)]
    obj.relocations += [(".text", 0, 1, ".rodata"), (".text", 16, 10, "sol_log_"), (".rodata", 0, 2, ".rodata")]
    return obj.build()


VALID = _valid_object()


def _convert_or_refuse(data: bytes) -> None:
    try:
        convert(data)
    except ConversionError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_mutated_objects_are_converted_or_refused_cleanly(mutations):
    data = bytearray(VALID)
    for position, value in mutations:
        data[position] = value
    _convert_or_refuse(bytes(data))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(VALID)))
def test_truncated_objects_are_refused_cleanly(length):
    _convert_or_refuse(VALID[:length])


def test_the_unmutated_object_converts():
    assert convert(VALID)[:4] == b"\x7fELF"


def test_huge_alignment_or_uninitialised_sections_are_refused_without_allocating():
    obj = minimal_program()
    obj.sections.append((".rodata", SHF_ALLOC, b"x" * 8))
    data = bytearray(obj.build())
    rodata_header = struct.unpack_from("<Q", data, 40)[0] + 64 * 2
    struct.pack_into("<Q", data, rodata_header + 48, 1 << 62)  # sh_addralign
    with pytest.raises(ConversionError, match="alignment"):
        convert(bytes(data))
    struct.pack_into("<Q", data, rodata_header + 48, 8)
    struct.pack_into("<I", data, rodata_header + 4, 8)  # sh_type = SHT_NOBITS
    struct.pack_into("<Q", data, rodata_header + 32, 1 << 62)  # sh_size
    with pytest.raises(ConversionError, match="uninitialised"):
        convert(bytes(data))
