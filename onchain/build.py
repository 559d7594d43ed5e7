"""``python -m onchain.build``: compile the C program with clang-22 and convert it to SBPF v0.

Writes onchain/program/quantdesk.so (committed, so running the exchange needs no clang).
``--check`` rebuilds into memory and fails if the bytes differ from the committed binary.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from onchain.sbpf import convert

PROGRAM_DIR = Path(__file__).resolve().parent / "program"
SOURCE = "quantdesk.c"
BINARY = PROGRAM_DIR / "quantdesk.so"
CLANG = "clang-22"
# -mcpu=v2: v3 emits jmp32 (rejected by the loader) and ALU32 (sign-extends in SBPF v0).
CLANG_FLAGS = ["--target=bpfel", "-mcpu=v2", "-O2", "-ffreestanding", "-fno-builtin", "-nostdlib",
               "-mllvm", "-bpf-stack-size=4096", "-Wall", "-Werror", "-c"]


def find_clang() -> str | None:
    """Path of clang-22, or None when it is not installed."""
    return shutil.which(CLANG)


def build_program() -> bytes:
    """Compile and convert; return the shared-object bytes."""
    clang = find_clang()
    if clang is None:
        raise RuntimeError(f"{CLANG} not found: apt-get install -y clang-22")
    with tempfile.TemporaryDirectory() as scratch:
        object_path = Path(scratch) / "quantdesk.o"
        # Relative source path and fixed cwd keep the object independent of where the repo lives.
        subprocess.run([clang, *CLANG_FLAGS, SOURCE, "-o", str(object_path)], cwd=PROGRAM_DIR, check=True)
        return convert(object_path.read_bytes())


def main(argv: list[str]) -> int:
    """Build (default) or check the committed binary against a fresh build."""
    parser = argparse.ArgumentParser(prog="python -m onchain.build")
    parser.add_argument("--check", action="store_true", help="fail if the committed binary differs")
    options = parser.parse_args(argv)
    program = build_program()
    if options.check:
        same = BINARY.exists() and BINARY.read_bytes() == program
        print("quantdesk.so matches the source" if same else "quantdesk.so DIFFERS from a fresh build")
        return 0 if same else 1
    BINARY.write_bytes(program)
    print(f"wrote {BINARY} ({len(program)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
