"""Read the parts of an ELF64 little-endian relocatable object (EM_BPF) the converter needs.

Only what the converter uses is parsed: section headers, the symbol table and REL sections.
Every offset is bounds-checked so a truncated or hostile file gives a ``ConversionError``.
"""

import struct
from dataclasses import dataclass

from onchain.sbpf.errors import ConversionError

EM_BPF = 247
ET_REL = 1
SHT_SYMTAB = 2
SHT_RELA = 4
SHT_NOBITS = 8
SHT_REL = 9
SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4
SHN_UNDEF = 0
SHN_COMMON = 0xFFF2
STT_SECTION = 3


@dataclass(frozen=True)
class Section:
    index: int
    name: str
    type: int
    flags: int
    data: bytes
    size: int
    link: int
    info: int
    align: int


@dataclass(frozen=True)
class Symbol:
    name: str
    info: int
    section_index: int
    value: int

    @property
    def type(self) -> int:
        return self.info & 0xF

    @property
    def is_global(self) -> bool:
        return (self.info >> 4) != 0


@dataclass(frozen=True)
class Relocation:
    offset: int
    type: int
    symbol: Symbol


@dataclass(frozen=True)
class RelocatableObject:
    sections: list[Section]
    symbols: list[Symbol]
    relocations: dict[int, list[Relocation]]  # target section index -> relocations


def _slice(data: bytes, offset: int, size: int, what: str) -> bytes:
    if offset < 0 or size < 0 or offset + size > len(data):
        raise ConversionError(f"truncated object: {what} at {offset}+{size} exceeds {len(data)} bytes")
    return data[offset : offset + size]


def _c_string(table: bytes, offset: int) -> str:
    if offset >= len(table) and offset != 0:
        raise ConversionError(f"string offset {offset} outside its table")
    end = table.find(b"\0", offset)
    return table[offset : end if end >= 0 else len(table)].decode("utf-8", "replace")


def read_object(data: bytes) -> RelocatableObject:
    """Parse a BPF relocatable object, refusing anything that is not ELF64 LE ET_REL EM_BPF."""
    header = _slice(data, 0, 64, "ELF header")
    if header[:4] != b"\x7fELF" or header[4] != 2 or header[5] != 1:
        raise ConversionError("not an ELF64 little-endian file")
    e_type, e_machine = struct.unpack_from("<HH", header, 16)
    if e_type != ET_REL:
        raise ConversionError(f"expected a relocatable object (ET_REL), got e_type {e_type}")
    if e_machine != EM_BPF:
        raise ConversionError(f"expected e_machine EM_BPF (247), got {e_machine}")
    (e_shoff,) = struct.unpack_from("<Q", header, 40)
    e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", header, 58)
    if e_shentsize != 64 or e_shstrndx >= e_shnum:
        raise ConversionError("malformed section header table")
    raw = [struct.unpack("<IIQQQQIIQQ", _slice(data, e_shoff + 64 * i, 64, "section header")) for i in range(e_shnum)]
    names_header = raw[e_shstrndx]
    names = _slice(data, names_header[4], names_header[5], "section names")
    sections = []
    for index, (name, type_, flags, _addr, offset, size, link, info, align, _entsize) in enumerate(raw):
        body = b"" if type_ == SHT_NOBITS else _slice(data, offset, size, f"section {index}")
        sections.append(Section(index, _c_string(names, name), type_, flags, body, size, link, info, max(align, 1)))
    symbols = _read_symbols(sections)
    relocations: dict[int, list[Relocation]] = {}
    for section in sections:
        if section.type == SHT_RELA:
            raise ConversionError(f"{section.name}: RELA relocations are not produced for BPF; refusing")
        if section.type != SHT_REL:
            continue
        if section.info >= len(sections):
            raise ConversionError(f"{section.name}: target section {section.info} does not exist")
        entries = relocations.setdefault(section.info, [])
        for offset, info in struct.iter_unpack("<QQ", section.data[: len(section.data) // 16 * 16]):
            symbol_index = info >> 32
            if symbol_index >= len(symbols):
                raise ConversionError(f"{section.name}: relocation names symbol {symbol_index} which does not exist")
            entries.append(Relocation(offset, info & 0xFFFFFFFF, symbols[symbol_index]))
    return RelocatableObject(sections, symbols, relocations)


def _read_symbols(sections: list[Section]) -> list[Symbol]:
    tables = [s for s in sections if s.type == SHT_SYMTAB]
    if len(tables) != 1:
        raise ConversionError(f"expected one symbol table, found {len(tables)}")
    table = tables[0]
    if table.link >= len(sections):
        raise ConversionError("symbol table names a missing string table")
    strings = sections[table.link].data
    symbols = []
    for name, info, _other, shndx, value, _size in struct.iter_unpack("<IBBHQQ", table.data[: len(table.data) // 24 * 24]):
        symbols.append(Symbol(_c_string(strings, name), info, shndx, value))
    return symbols
