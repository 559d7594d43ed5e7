"""Convert clang's upstream BPF relocatable object into a Solana SBPF v0 shared object.

Usage: ``convert(object_bytes) -> shared_object_bytes``; raises ``ConversionError`` with a
message naming the offending section, symbol, relocation or instruction.

Known limits (cannot be detected from the object file):
- Functions with more than 5 arguments: clang refuses them for BPF at compile time, but a
  variadic or inline-assembly caller could still pass more; pass structs by pointer.
- Runtime-sized memcpy/memset must call ``sol_memcpy_``/``sol_memset_``; a compiler-emitted
  ``memcpy`` call is reported as an unknown syscall.
- Only one executable section (``.text``): do not compile with ``-ffunction-sections``.
"""

from onchain.sbpf.errors import ConversionError
from onchain.sbpf.linker import convert

__all__ = ["ConversionError", "convert"]
