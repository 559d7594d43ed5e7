"""Lay out and relocate a BPF relocatable object as a Solana SBPF v0 shared object.

Invariants of the output (what the SBPF v0 loader accepts):
- every section's address equals its file offset;
- ``.rodata`` is all read-only allocated input merged, its internal pointers (R_BPF_64_ABS64)
  resolved to 0x1_0000_0000 + address, so it needs no dynamic relocation;
- ``lddw`` of an address (R_BPF_64_64) holds the address and gets an R_BPF_64_RELATIVE, to
  which the loader adds 0x1_0000_0000;
- calls to our own functions are pc-relative with no relocation; calls to syscalls hold imm -1,
  src 0 and an R_BPF_64_32 against the syscall's ``.dynsym`` entry (the loader hashes the name).
"""

import struct
from dataclasses import dataclass, field

from onchain.sbpf import instructions
from onchain.sbpf.elf_input import (
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_WRITE,
    SHN_COMMON,
    SHN_UNDEF,
    SHT_NOBITS,
    STT_SECTION,
    RelocatableObject,
    Relocation,
    read_object,
)
from onchain.sbpf.elf_output import SharedObjectImage, write_shared_object
from onchain.sbpf.errors import ConversionError
from onchain.sbpf.syscalls import KNOWN_SYSCALLS

R_BPF_64_64 = 1
R_BPF_64_ABS64 = 2
R_BPF_64_RELATIVE = 8
R_BPF_64_32 = 10
PROGRAM_START = 0x1_0000_0000
ENTRYPOINT = "entrypoint"
MAX_ALIGNMENT = 4096


@dataclass
class _Plan:
    text_index: int
    rodata_offsets: dict[int, int] = field(default_factory=dict)  # input section -> offset in .rodata
    rodata: bytearray = field(default_factory=bytearray)


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


def _plan_sections(obj: RelocatableObject) -> _Plan:
    text_index = None
    plan_rodata: list = []
    for section in obj.sections:
        if not section.flags & SHF_ALLOC or section.size == 0:
            continue
        if section.align > MAX_ALIGNMENT or section.align & (section.align - 1):
            raise ConversionError(f"section {section.name} has alignment {section.align}: expected a power of two <= {MAX_ALIGNMENT}")
        if section.flags & SHF_WRITE:
            raise ConversionError(
                f"section {section.name} is writable ({section.size} bytes): Solana programs have no writable "
                "globals (.data/.bss); make the data const or keep it in an account"
            )
        if section.type == SHT_NOBITS:
            raise ConversionError(
                f"section {section.name} is uninitialised data ({section.size} bytes, like .bss): refused"
            )
        if section.flags & SHF_EXECINSTR:
            if section.name != ".text" or text_index is not None:
                raise ConversionError(
                    f"executable section {section.name}: only one .text is supported (no -ffunction-sections)"
                )
            text_index = section.index
        else:
            plan_rodata.append(section)
    if text_index is None:
        raise ConversionError("no .text section: nothing to run")
    plan = _Plan(text_index)
    for section in plan_rodata:
        offset = _align(len(plan.rodata), section.align)
        plan.rodata.extend(b"\0" * (offset - len(plan.rodata)))
        plan.rodata_offsets[section.index] = offset
        plan.rodata.extend(section.data)
    return plan


def _check_symbols(obj: RelocatableObject) -> None:
    for symbol in obj.symbols:
        if symbol.section_index == SHN_COMMON:
            raise ConversionError(f"symbol {symbol.name} is a common (writable, uninitialised) global; refused")


def _syscall_names(obj: RelocatableObject, text_index: int) -> list[str]:
    """Undefined symbols called from .text, in first-use order; refuse unknown names."""
    names: list[str] = []
    for relocation in obj.relocations.get(text_index, []):
        symbol = relocation.symbol
        if symbol.section_index != SHN_UNDEF or relocation.type != R_BPF_64_32:
            continue
        if symbol.name not in KNOWN_SYSCALLS:
            raise ConversionError(
                f"call to undefined symbol {symbol.name!r} which is not a Solana syscall"
                + (" (runtime-sized copies must call sol_memcpy_/sol_memset_)" if symbol.name.startswith("mem") else "")
            )
        if symbol.name not in names:
            names.append(symbol.name)
    return names


def _dynamic_relocation_count(obj: RelocatableObject, text_index: int) -> int:
    """One R_BPF_64_RELATIVE per lddw of an address, one R_BPF_64_32 per syscall call site."""
    return sum(
        1
        for r in obj.relocations.get(text_index, [])
        if r.type == R_BPF_64_64 or (r.type == R_BPF_64_32 and r.symbol.section_index == SHN_UNDEF)
    )


def convert(object_bytes: bytes) -> bytes:
    """Turn clang's BPF relocatable object into SBPF v0 shared-object bytes."""
    obj = read_object(object_bytes)
    _check_symbols(obj)
    plan = _plan_sections(obj)
    text = bytearray(obj.sections[plan.text_index].data)
    image = SharedObjectImage(text=text, rodata=plan.rodata, syscalls=_syscall_names(obj, plan.text_index),
                              relocation_count=_dynamic_relocation_count(obj, plan.text_index))
    layout = image.layout()

    def address_of(relocation: Relocation, addend: int) -> int:
        symbol = relocation.symbol
        base = 0 if symbol.type == STT_SECTION else symbol.value
        if symbol.section_index == plan.text_index:
            return layout.text_address + base + addend
        if symbol.section_index in plan.rodata_offsets:
            return layout.rodata_address + plan.rodata_offsets[symbol.section_index] + base + addend
        raise ConversionError(f"relocation against {symbol.name or 'section ' + str(symbol.section_index)} which is not in .text or read-only data")

    instructions.check_and_rewrite_text(text)
    entry = [s for s in obj.symbols if s.name == ENTRYPOINT and s.section_index == plan.text_index and s.is_global]
    if not entry:
        raise ConversionError("no global function 'entrypoint' defined in .text")
    image.entry_address = layout.text_address + entry[0].value

    for relocation in obj.relocations.get(plan.text_index, []):
        _relocate_text(image, relocation, address_of, layout.text_address)
    for section_index, offset in plan.rodata_offsets.items():
        for relocation in obj.relocations.get(section_index, []):
            if relocation.type != R_BPF_64_ABS64:
                raise ConversionError(f"relocation type {relocation.type} in read-only data is not supported")
            position = offset + relocation.offset
            if relocation.offset + 8 > obj.sections[section_index].size:
                raise ConversionError(f"R_BPF_64_ABS64 at {obj.sections[section_index].name}+{relocation.offset:#x} is out of bounds")
            (addend,) = struct.unpack_from("<Q", plan.rodata, position)
            target = address_of(relocation, addend)
            if not 0 <= PROGRAM_START + target < 1 << 64:
                raise ConversionError(f"R_BPF_64_ABS64 at {obj.sections[section_index].name}+{relocation.offset:#x} points outside the image")
            struct.pack_into("<Q", plan.rodata, position, PROGRAM_START + target)
    return write_shared_object(image)


def _relocate_text(image: SharedObjectImage, relocation: Relocation, address_of, text_address: int) -> None:
    text = image.text
    offset = relocation.offset
    opcode = instructions.opcode_at(text, offset)
    symbol = relocation.symbol
    if relocation.type == R_BPF_64_64:
        if opcode != instructions.OPCODE_LDDW or offset + 16 > len(text):
            raise ConversionError(f"R_BPF_64_64 at .text+{offset:#x} is not on an lddw")
        if symbol.section_index == SHN_UNDEF:
            raise ConversionError(f"lddw of undefined symbol {symbol.name!r}: external data does not exist on Solana")
        target = address_of(relocation, instructions.read_imm(text, offset))
        if not 0 <= target < 1 << 32:
            raise ConversionError(f"lddw at .text+{offset:#x} points outside the image ({target:#x})")
        instructions.write_lddw_address(text, offset, target)
        image.dynamic_relocations.append((text_address + offset, R_BPF_64_RELATIVE, 0))
    elif relocation.type == R_BPF_64_32:
        if opcode != instructions.OPCODE_CALL:
            raise ConversionError(f"R_BPF_64_32 at .text+{offset:#x} is not on a call")
        if symbol.section_index == SHN_UNDEF:
            instructions.write_call(text, offset, -1, 0)
            symbol_index = 2 + image.syscalls.index(symbol.name)  # .dynsym: null, entrypoint, syscalls
            image.dynamic_relocations.append((text_address + offset, R_BPF_64_32, symbol_index))
        else:
            addend = (instructions.read_imm(text, offset) + 1) * 8 if symbol.type == STT_SECTION else 0
            target = address_of(relocation, addend)
            here = text_address + offset
            instructions.write_call(text, offset, (target - here) // 8 - 1, 1)
    else:
        raise ConversionError(f"unsupported relocation type {relocation.type} at .text+{offset:#x} ({symbol.name!r})")
