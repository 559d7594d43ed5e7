"""The SBPF converter on its own: crafted objects in, checked ELF out, hostile input refused."""

import struct

import pytest

from onchain.sbpf import ConversionError, convert
from tests.unit.onchain.bpf_object import (
    CALL_UNRESOLVED,
    EXIT,
    LDDW_R1,
    MOV_R0_0,
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_WRITE,
    BpfObject,
    instruction,
    minimal_program,
)


def _sections(so: bytes) -> dict[str, tuple[int, int, int]]:
    """Map section name -> (type, address, size), checking address == offset."""
    shoff, = struct.unpack_from("<Q", so, 40)
    shnum, shstrndx = struct.unpack_from("<HH", so, 60)
    headers = [struct.unpack_from("<IIQQQQIIQQ", so, shoff + 64 * i) for i in range(shnum)]
    names = so[headers[shstrndx][4]:]
    result = {}
    for name, type_, _flags, address, offset, size, *_ in headers[1:]:
        assert address == offset
        result[names[name:names.index(b"\0", name)].decode()] = (type_, address, size)
    return result


def _dynamic(so: bytes) -> dict[int, int]:
    _, address, size = _sections(so)[".dynamic"]
    return dict(struct.iter_unpack("<qQ", so[address:address + size]))


def test_minimal_program_has_the_loader_shape():
    # Given a function-only object, the output is ET_DYN EM_BPF, flags 0, entry in .text
    so = convert(minimal_program().build())
    assert so[:4] == b"\x7fELF"
    e_type, e_machine, _, e_entry = struct.unpack_from("<HHIQ", so, 16)
    assert (e_type, e_machine, struct.unpack_from("<I", so, 48)[0]) == (3, 247, 0)
    sections = _sections(so)
    assert list(sections) == [".text", ".dynamic", ".dynsym", ".dynstr", ".shstrtab"]
    assert e_entry == sections[".text"][1]
    # and with no relocations there are no REL* entries (RELSZ 0 is rejected by the loader)
    assert 18 not in _dynamic(so) and 17 not in _dynamic(so)


def test_syscall_call_becomes_dynamic_relocation_against_dynsym():
    obj = minimal_program(CALL_UNRESOLVED + MOV_R0_0 + EXIT)
    obj.symbols.append(("sol_log_", None, 0, True, 0))
    obj.relocations.append((".text", 0, 10, "sol_log_"))
    so = convert(obj.build())
    sections = _sections(so)
    _, text, _ = sections[".text"]
    opcode, registers, _, imm = struct.unpack_from("<BBhi", so, text)
    assert (opcode, registers, imm) == (0x85, 0, -1)
    _, rel, size = sections[".rel.dyn"]
    assert struct.unpack_from("<QQ", so, rel) == (text, (2 << 32) | 10)
    _, dynstr, dynstr_size = sections[".dynstr"]
    assert so[dynstr:dynstr + dynstr_size] == b"\0entrypoint\0sol_log_\0"
    dynamic = _dynamic(so)
    assert dynamic[18] == 16 and dynamic[19] == 16 and dynamic[0x6FFFFFFA] == 0 and dynamic[30] == 4


def test_lddw_of_rodata_holds_address_and_gets_relative_relocation():
    obj = minimal_program(LDDW_R1 + MOV_R0_0 + EXIT)
    obj.sections.append((".rodata.str1.1", SHF_ALLOC, b"hello\0"))
    obj.symbols.append((".rodata.str1.1", ".rodata.str1.1", 0, False, 3))
    obj.relocations.append((".text", 0, 1, ".rodata.str1.1"))
    so = convert(obj.build())
    sections = _sections(so)
    _, text, _ = sections[".text"]
    _, rodata, _ = sections[".rodata"]
    low, = struct.unpack_from("<I", so, text + 4)
    high, = struct.unpack_from("<I", so, text + 12)
    assert (low, high) == (rodata, 0)
    assert so[rodata:rodata + 6] == b"hello\0"
    _, rel, _ = sections[".rel.dyn"]
    assert struct.unpack_from("<QQ", so, rel) == (text, 8)
    assert _dynamic(so)[0x6FFFFFFA] == 1


def test_rodata_pointer_is_resolved_statically():
    obj = minimal_program()
    obj.sections.append((".rodata", SHF_ALLOC, struct.pack("<Q", 4) + b"abcdefgh"))
    obj.symbols.append((".rodata", ".rodata", 0, False, 3))
    obj.relocations.append((".rodata", 0, 2, ".rodata"))
    so = convert(obj.build())
    _, rodata, _ = _sections(so)[".rodata"]
    assert struct.unpack_from("<Q", so, rodata)[0] == 0x1_0000_0000 + rodata + 4


def test_callx_register_moves_from_dst_to_imm():
    obj = minimal_program(instruction(0x8D, dst=3) + MOV_R0_0 + EXIT)
    so = convert(obj.build())
    _, text, _ = _sections(so)[".text"]
    assert struct.unpack_from("<BBhi", so, text) == (0x8D, 0, 0, 3)


def test_call_to_own_function_is_pc_relative():
    obj = minimal_program(CALL_UNRESOLVED + EXIT + MOV_R0_0 + EXIT)
    obj.symbols.append(("helper", ".text", 16, True, 2))
    obj.relocations.append((".text", 0, 10, "helper"))
    so = convert(obj.build())
    _, text, _ = _sections(so)[".text"]
    assert struct.unpack_from("<i", so, text + 4)[0] == 1
    assert ".rel.dyn" not in _sections(so)


@pytest.mark.parametrize("name", [".data", ".bss"])
def test_writable_section_is_refused(name):
    obj = minimal_program()
    obj.sections.append((name, SHF_ALLOC | SHF_WRITE, b"\1\0\0\0\0\0\0\0"))
    with pytest.raises(ConversionError, match=f"{name} is writable"):
        convert(obj.build())


def test_jmp32_is_refused():
    obj = minimal_program(instruction(0x56, dst=1, offset=0, imm=0) + MOV_R0_0 + EXIT)
    with pytest.raises(ConversionError, match="jmp32 opcode 0x56"):
        convert(obj.build())


def test_alu32_add_is_refused():
    obj = minimal_program(instruction(0x04, dst=1, imm=1) + MOV_R0_0 + EXIT)
    with pytest.raises(ConversionError, match="add32"):
        convert(obj.build())


def test_unknown_relocation_is_refused():
    obj = minimal_program(LDDW_R1 + MOV_R0_0 + EXIT)
    obj.symbols.append(("entry2", ".text", 0, True, 2))
    obj.relocations.append((".text", 0, 3, "entry2"))
    with pytest.raises(ConversionError, match="unsupported relocation type 3"):
        convert(obj.build())


def test_call_to_non_syscall_is_refused():
    obj = minimal_program(CALL_UNRESOLVED + MOV_R0_0 + EXIT)
    obj.symbols.append(("memcpy", None, 0, True, 0))
    obj.relocations.append((".text", 0, 10, "memcpy"))
    with pytest.raises(ConversionError, match="sol_memcpy_"):
        convert(obj.build())


def test_missing_entrypoint_and_garbage_are_refused():
    obj = BpfObject(sections=[(".text", SHF_ALLOC | SHF_EXECINSTR, MOV_R0_0 + EXIT)],
                    symbols=[("main", ".text", 0, True, 2)])
    with pytest.raises(ConversionError, match="entrypoint"):
        convert(obj.build())
    with pytest.raises(ConversionError, match="not an ELF64"):
        convert(b"garbage" * 20)
    with pytest.raises(ConversionError, match="truncated"):
        convert(minimal_program().build()[:100])
