"""``python -m onchain.interface``: rewrite the committed IDL and C header from the spec."""

from pathlib import Path

from onchain.interface import spec
from onchain.interface.c_header import render_header
from onchain.interface.idl import render_idl

ONCHAIN = Path(__file__).resolve().parent.parent
IDL_PATH = ONCHAIN / "idl" / "quantdesk.json"
HEADER_PATH = ONCHAIN / "program" / "quantdesk_interface.h"


def main() -> None:
    """Write both generated files."""
    IDL_PATH.write_text(render_idl(spec.PROGRAM_ID))
    HEADER_PATH.write_text(render_header())
    print(f"wrote {IDL_PATH} and {HEADER_PATH}")


if __name__ == "__main__":
    main()
