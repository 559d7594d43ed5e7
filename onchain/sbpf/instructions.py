"""Instruction-level checks and rewrites between upstream eBPF and SBPF v0.

SBPF v0 differs from what ``clang --target=bpfel -mcpu=v2`` emits in a few places:
- jmp32 (class 0x06, emitted by -mcpu=v3) does not exist: the loader fails with
  "unknown eBPF opcode"; we refuse it with the offset.
- 32-bit add/sub/mul/neg sign-extend their result in SBPF v0 while upstream zero-extends;
  code relying on either is silently wrong, so we refuse them (compile with -mcpu=v2).
- ``callx``: upstream names the register in ``dst``; SBPF v0 reads it from ``imm``.
"""

import struct

from onchain.sbpf.errors import ConversionError

INSTRUCTION_SIZE = 8
OPCODE_LDDW = 0x18
OPCODE_CALL = 0x85
OPCODE_CALLX = 0x8D
CLASS_ALU32 = 0x04
CLASS_JMP32 = 0x06
UNSAFE_ALU32_OPERATIONS = {0x00: "add32", 0x10: "sub32", 0x20: "mul32", 0x80: "neg32"}


def check_and_rewrite_text(text: bytearray) -> None:
    """Refuse opcodes SBPF v0 cannot run faithfully and move callx registers into imm."""
    if len(text) % INSTRUCTION_SIZE:
        raise ConversionError(f".text size {len(text)} is not a multiple of 8")
    position = 0
    while position < len(text):
        opcode = text[position]
        instruction_class = opcode & 0x07
        if instruction_class == CLASS_JMP32:
            raise ConversionError(
                f".text+{position:#x}: jmp32 opcode {opcode:#04x} is not supported by SBPF v0 (compile with -mcpu=v2)"
            )
        if instruction_class == CLASS_ALU32 and (opcode & 0xF0) in UNSAFE_ALU32_OPERATIONS:
            name = UNSAFE_ALU32_OPERATIONS[opcode & 0xF0]
            raise ConversionError(
                f".text+{position:#x}: {name} (opcode {opcode:#04x}) sign-extends in SBPF v0; compile with -mcpu=v2 and 64-bit arithmetic"
            )
        if opcode == OPCODE_CALLX:
            register = text[position + 1] & 0x0F
            text[position + 1] = 0
            struct.pack_into("<i", text, position + 4, register)
        if opcode == OPCODE_LDDW:
            if position + 16 > len(text):
                raise ConversionError(f".text+{position:#x}: lddw cut off at the end of .text")
            position += INSTRUCTION_SIZE
        position += INSTRUCTION_SIZE


def opcode_at(text: bytes | bytearray, offset: int) -> int:
    """Return the opcode of the instruction at a byte offset, checking alignment and bounds."""
    if offset % INSTRUCTION_SIZE or offset + INSTRUCTION_SIZE > len(text):
        raise ConversionError(f"relocation at .text+{offset:#x} is not on an instruction")
    return text[offset]


def read_imm(text: bytes | bytearray, offset: int) -> int:
    return struct.unpack_from("<i", text, offset + 4)[0]


def write_lddw_address(text: bytearray, offset: int, address: int) -> None:
    """Write a 64-bit address into an lddw's two immediate halves."""
    struct.pack_into("<I", text, offset + 4, address & 0xFFFFFFFF)
    struct.pack_into("<I", text, offset + 12, address >> 32)


def write_call(text: bytearray, offset: int, immediate: int, source_register: int) -> None:
    """Set a call's immediate and source register (0 for syscalls, as the loader expects)."""
    text[offset + 1] = (text[offset + 1] & 0x0F) | (source_register << 4)
    struct.pack_into("<i", text, offset + 4, immediate)
