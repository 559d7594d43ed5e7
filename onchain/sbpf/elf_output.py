"""Write an SBPF v0 shared object: the exact file shape the Solana loader accepts.

File order (address = file offset everywhere): ELF header, program headers, .text, .rodata,
.dynamic, .dynsym, .dynstr, .rel.dyn, .shstrtab, section headers.
Program headers: LOAD(.text, R E), LOAD(.rodata, R), LOAD(.dynamic, RW),
LOAD(.dynsym+.dynstr+.rel.dyn, R), DYNAMIC. With no relocations the REL* dynamic entries and
.rel.dyn are omitted (the loader rejects RELSZ 0); with no read-only data, .rodata and its LOAD.
"""

import struct
from dataclasses import dataclass, field

ET_DYN = 3
EM_BPF = 247
PT_LOAD, PT_DYNAMIC = 1, 2
PF_X, PF_W, PF_R = 1, 2, 4
SHT_PROGBITS, SHT_STRTAB, SHT_DYNAMIC, SHT_REL, SHT_DYNSYM = 1, 3, 6, 9, 11
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4
DT_NULL, DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT = 0, 5, 6, 10, 11
DT_REL, DT_RELSZ, DT_RELENT, DT_TEXTREL, DT_FLAGS, DT_RELCOUNT = 17, 18, 19, 22, 30, 0x6FFFFFFA
DF_TEXTREL = 4
R_BPF_64_RELATIVE = 8
STB_GLOBAL, STT_NOTYPE, STT_FUNC = 1, 0, 2


@dataclass(frozen=True)
class Layout:
    text_address: int
    rodata_address: int
    dynamic_address: int
    dynsym_address: int
    dynstr_address: int
    rel_address: int
    shstrtab_address: int
    section_headers_address: int


@dataclass
class SharedObjectImage:
    """What goes into the file; addresses come from ``layout()`` before relocating."""

    text: bytearray
    rodata: bytearray
    syscalls: list[str]
    relocation_count: int
    entry_address: int = 0
    dynamic_relocations: list[tuple[int, int, int]] = field(default_factory=list)  # (offset, type, symbol)

    @property
    def has_rodata(self) -> bool:
        return len(self.rodata) > 0

    @property
    def program_header_count(self) -> int:
        return 5 if self.has_rodata else 4

    def dynstr(self) -> bytes:
        return b"\0" + b"".join(name.encode() + b"\0" for name in ["entrypoint", *self.syscalls])

    def dynamic_entry_count(self) -> int:
        return 5 + (5 if self.relocation_count else 0) + 1  # FLAGS, 4 symbol entries, REL* + TEXTREL, NULL

    def section_names(self) -> list[str]:
        names = [".text"] + ([".rodata"] if self.has_rodata else []) + [".dynamic", ".dynsym", ".dynstr"]
        return names + ([".rel.dyn"] if self.relocation_count else []) + [".shstrtab"]

    def shstrtab(self) -> bytes:
        return b"\0" + b"".join(name.encode() + b"\0" for name in self.section_names())

    def layout(self) -> Layout:
        """Place every section; sizes are known before relocation (counts, not contents)."""
        text_address = _align(64 + 56 * self.program_header_count, 8)
        rodata_address = _align(text_address + len(self.text), 8)
        dynamic_address = _align(rodata_address + len(self.rodata), 8)
        dynsym_address = dynamic_address + 16 * self.dynamic_entry_count()
        dynstr_address = dynsym_address + 24 * (2 + len(self.syscalls))
        rel_address = _align(dynstr_address + len(self.dynstr()), 8)
        shstrtab_address = rel_address + 16 * self.relocation_count
        headers = _align(shstrtab_address + len(self.shstrtab()), 8)
        return Layout(text_address, rodata_address, dynamic_address, dynsym_address, dynstr_address,
                      rel_address, shstrtab_address, headers)


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


def _place(buffer: bytearray, address: int, data: bytes) -> None:
    if len(buffer) < address:
        buffer.extend(b"\0" * (address - len(buffer)))
    buffer[address : address + len(data)] = data


def write_shared_object(image: SharedObjectImage) -> bytes:
    """Serialize the image; ``image.text``/``rodata`` must already be relocated."""
    layout = image.layout()
    relocations = sorted(image.dynamic_relocations, key=lambda r: (r[1] != R_BPF_64_RELATIVE, r[0]))
    assert len(relocations) == image.relocation_count
    relative_count = sum(1 for r in relocations if r[1] == R_BPF_64_RELATIVE)
    dynstr = image.dynstr()
    dynamic = [(DT_FLAGS, DF_TEXTREL)]
    if relocations:
        dynamic += [(DT_REL, layout.rel_address), (DT_RELSZ, 16 * len(relocations)), (DT_RELENT, 16),
                    (DT_RELCOUNT, relative_count)]
    dynamic += [(DT_SYMTAB, layout.dynsym_address), (DT_SYMENT, 24), (DT_STRTAB, layout.dynstr_address),
                (DT_STRSZ, len(dynstr))]
    if relocations:
        dynamic.append((DT_TEXTREL, 0))
    dynamic.append((DT_NULL, 0))
    assert len(dynamic) == image.dynamic_entry_count()
    dynamic_bytes = b"".join(struct.pack("<qQ", tag, value) for tag, value in dynamic)

    text_section_index = 1
    dynsym = struct.pack("<IBBHQQ", 0, 0, 0, 0, 0, 0)
    dynsym += struct.pack("<IBBHQQ", 1, (STB_GLOBAL << 4) | STT_FUNC, 0, text_section_index,
                          image.entry_address, len(image.text))
    name_offset = len(b"\0entrypoint\0")
    for name in image.syscalls:
        dynsym += struct.pack("<IBBHQQ", name_offset, (STB_GLOBAL << 4) | STT_NOTYPE, 0, 0, 0, 0)
        name_offset += len(name) + 1
    rel_bytes = b"".join(struct.pack("<QQ", offset, (symbol << 32) | type_) for offset, type_, symbol in relocations)

    out = bytearray()
    _place(out, layout.text_address, bytes(image.text))
    if image.has_rodata:
        _place(out, layout.rodata_address, bytes(image.rodata))
    _place(out, layout.dynamic_address, dynamic_bytes)
    _place(out, layout.dynsym_address, dynsym)
    _place(out, layout.dynstr_address, dynstr)
    if relocations:
        _place(out, layout.rel_address, rel_bytes)
    shstrtab = image.shstrtab()
    _place(out, layout.shstrtab_address, shstrtab)

    names = image.section_names()
    index = {name: i + 1 for i, name in enumerate(names)}
    name_offsets = {}
    cursor = 1
    for name in names:
        name_offsets[name] = cursor
        cursor += len(name) + 1

    def header(name, type_, flags, address, size, link=0, info=0, align=1, entsize=0):
        return struct.pack("<IIQQQQIIQQ", name_offsets[name], type_, flags, address, address, size,
                           link, info, align, entsize)

    sections = [b"\0" * 64, header(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, layout.text_address,
                                   len(image.text), align=8)]
    if image.has_rodata:
        sections.append(header(".rodata", SHT_PROGBITS, SHF_ALLOC, layout.rodata_address, len(image.rodata), align=8))
    sections += [
        header(".dynamic", SHT_DYNAMIC, SHF_ALLOC | SHF_WRITE, layout.dynamic_address, len(dynamic_bytes),
               link=index[".dynstr"], align=8, entsize=16),
        header(".dynsym", SHT_DYNSYM, SHF_ALLOC, layout.dynsym_address, len(dynsym), link=index[".dynstr"],
               info=1, align=8, entsize=24),
        header(".dynstr", SHT_STRTAB, SHF_ALLOC, layout.dynstr_address, len(dynstr)),
    ]
    if relocations:
        sections.append(header(".rel.dyn", SHT_REL, SHF_ALLOC, layout.rel_address, len(rel_bytes),
                               link=index[".dynsym"], align=8, entsize=16))
    sections.append(header(".shstrtab", SHT_STRTAB, 0, layout.shstrtab_address, len(shstrtab)))
    _place(out, layout.section_headers_address, b"".join(sections))

    def segment(type_, flags, address, size):
        return struct.pack("<IIQQQQQQ", type_, flags, address, address, address, size, size,
                           0x1000 if type_ == PT_LOAD else 8)

    segments = [segment(PT_LOAD, PF_R | PF_X, layout.text_address, len(image.text))]
    if image.has_rodata:
        segments.append(segment(PT_LOAD, PF_R, layout.rodata_address, len(image.rodata)))
    dynamic_tables_end = layout.rel_address + len(rel_bytes) if relocations else layout.dynstr_address + len(dynstr)
    segments += [
        segment(PT_LOAD, PF_R | PF_W, layout.dynamic_address, len(dynamic_bytes)),
        segment(PT_LOAD, PF_R, layout.dynsym_address, dynamic_tables_end - layout.dynsym_address),
        segment(PT_DYNAMIC, PF_R | PF_W, layout.dynamic_address, len(dynamic_bytes)),
    ]
    _place(out, 64, b"".join(segments))
    elf_header = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    elf_header += struct.pack("<HHIQQQIHHHHHH", ET_DYN, EM_BPF, 1, image.entry_address, 64,
                              layout.section_headers_address, 0, 64, 56, len(segments), 64,
                              len(sections), len(sections) - 1)
    _place(out, 0, elf_header)
    return bytes(out)
