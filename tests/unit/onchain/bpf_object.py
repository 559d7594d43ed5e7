"""Craft tiny BPF relocatable objects (ET_REL, EM_BPF) for converter tests, without clang."""

import struct
from dataclasses import dataclass, field

SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4


def instruction(opcode: int, dst: int = 0, src: int = 0, offset: int = 0, imm: int = 0) -> bytes:
    """Encode one eBPF instruction."""
    return struct.pack("<BBhi", opcode, dst | (src << 4), offset, imm)


EXIT = instruction(0x95)
MOV_R0_0 = instruction(0xB7)
CALL_UNRESOLVED = instruction(0x85, src=1, imm=-1)
LDDW_R1 = instruction(0x18, dst=1) + instruction(0)


@dataclass
class BpfObject:
    """Sections (name, flags, data), symbols (name, section name or None, value, global, type)
    and relocations (section name, offset, type, symbol name)."""

    sections: list[tuple[str, int, bytes]] = field(default_factory=list)
    symbols: list[tuple[str, str | None, int, bool, int]] = field(default_factory=list)
    relocations: list[tuple[str, int, int, str]] = field(default_factory=list)

    def build(self) -> bytes:
        names = [""] + [name for name, _, _ in self.sections]
        rel_targets = sorted({target for target, *_ in self.relocations})
        names += [".rel" + target for target in rel_targets] + [".strtab", ".symtab"]
        strtab = bytearray(b"\0")
        offsets = {}
        for name in names[1:] + [s[0] for s in self.symbols]:
            if name not in offsets:
                offsets[name] = len(strtab)
                strtab += name.encode() + b"\0"
        section_index = {name: i for i, name in enumerate(names)}
        symtab = bytes(24)
        ordered = sorted(self.symbols, key=lambda s: s[3])  # locals first
        symbol_index = {}
        for i, (name, section, value, is_global, type_) in enumerate(ordered, start=1):
            symbol_index[name] = i
            symtab += struct.pack("<IBBHQQ", offsets[name], (int(is_global) << 4) | type_, 0,
                                  section_index[section] if section else 0, value, 0)
        first_global = 1 + sum(1 for s in ordered if not s[3])
        bodies = [b""] + [data for _, _, data in self.sections]
        headers = [(0, 0, 0, 0, 0, 0, 0)]
        for name, flags, data in self.sections:
            headers.append((offsets[name], 1, flags, 0, 0, 8, 0))
        for target in rel_targets:
            body = b"".join(struct.pack("<QQ", off, (symbol_index[sym] << 32) | type_)
                            for t, off, type_, sym in self.relocations if t == target)
            bodies.append(body)
            headers.append((offsets[".rel" + target], 9, 0, section_index[".symtab"], section_index[target], 8, 16))
        bodies += [bytes(strtab), symtab]
        headers.append((offsets[".strtab"], 3, 0, 0, 0, 1, 0))
        headers.append((offsets[".symtab"], 2, 0, section_index[".strtab"], first_global, 8, 24))
        out = bytearray(64)
        placed = []
        for body in bodies:
            while len(out) % 8:
                out.append(0)
            placed.append(len(out))
            out += body
        while len(out) % 8:
            out.append(0)
        shoff = len(out)
        for (name, type_, flags, link, info, align, entsize), offset, body in zip(headers, placed, bodies):
            out += struct.pack("<IIQQQQIIQQ", name, type_, flags, 0, offset, len(body), link, info, align, entsize)
        header = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
        header += struct.pack("<HHIQQQIHHHHHH", 1, 247, 1, 0, 0, shoff, 0, 64, 0, 0, 64, len(headers),
                              section_index[".strtab"])
        out[:64] = header
        return bytes(out)


def minimal_program(text: bytes = MOV_R0_0 + EXIT) -> BpfObject:
    """A .text with a global function ``entrypoint`` at offset 0."""
    return BpfObject(sections=[(".text", SHF_ALLOC | SHF_EXECINSTR, text)],
                     symbols=[("entrypoint", ".text", 0, True, 2)])
