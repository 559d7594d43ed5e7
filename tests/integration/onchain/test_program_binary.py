"""The committed binary: a verifiable build, and converter output that the SVM loads and runs."""

import pytest
from solders.instruction import Instruction
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from solders.keypair import Keypair

from onchain.build import BINARY, CLANG, build_program, find_clang
from onchain.sbpf import convert
from tests.unit.onchain.bpf_object import CALL_UNRESOLVED, EXIT, LDDW_R1, MOV_R0_0, SHF_ALLOC, instruction, \
    minimal_program


@pytest.mark.skipif(find_clang() is None, reason=f"{CLANG} not installed (apt-get install -y clang-22): "
                                                  "cannot check the verifiable build")
def test_rebuilding_from_source_gives_the_committed_bytes():
    assert build_program() == BINARY.read_bytes(), "run `python -m onchain.build` and commit quantdesk.so"


def test_crafted_converter_output_loads_and_runs_in_the_svm():
    # A program that logs a string from .rodata via the sol_log_ syscall, then returns 0
    obj = minimal_program(LDDW_R1 + instruction(0xB7, dst=2, imm=5) + CALL_UNRESOLVED + MOV_R0_0 + EXIT)
    obj.sections.append((".rodata.str1.1", SHF_ALLOC, b"hello\0"))
    obj.symbols += [(".rodata.str1.1", ".rodata.str1.1", 0, False, 3), ("sol_log_", None, 0, True, 0)]
    obj.relocations += [(".text", 0, 1, ".rodata.str1.1"), (".text", 24, 10, "sol_log_")]
    svm = LiteSVM()
    program_id, payer = Pubkey.new_unique(), Keypair()
    svm.add_program(program_id, convert(obj.build()))
    svm.airdrop(payer.pubkey(), 1_000_000_000)
    message = Message([Instruction(program_id, b"", [])], payer.pubkey())
    result = svm.send_transaction(Transaction([payer], message, svm.latest_blockhash()))
    assert "Program log: hello" in result.logs()
