"""CLI: ``python -m onchain.sbpf input.o output.so``."""

import sys

from onchain.sbpf import ConversionError, convert


def main(argv: list[str]) -> int:
    """Convert one object file; print the refusal and exit 1 on hostile input."""
    if len(argv) != 2:
        print("usage: python -m onchain.sbpf INPUT.o OUTPUT.so", file=sys.stderr)
        return 2
    try:
        output = convert(open(argv[0], "rb").read())
    except ConversionError as error:
        print(f"sbpf: {error}", file=sys.stderr)
        return 1
    with open(argv[1], "wb") as handle:
        handle.write(output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
