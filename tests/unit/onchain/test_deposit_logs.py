"""Deposits found in log lines: instruction index from the top-level frames, only our frames count."""

import base64
import hashlib

from solders.keypair import Keypair

from onchain.client import QuantDeskClient, TOKEN_PROGRAM_ID
from onchain.watcher.deposits import deposits_in

CLIENT = QuantDeskClient()
PROGRAM = str(CLIENT.program_id)
OWNER, USER = Keypair().pubkey(), Keypair().pubkey()


def deposited_line(amount: int) -> str:
    discriminator = hashlib.sha256(b"event:Deposited").digest()[:8]
    body = bytes(OWNER) + bytes(USER) + bytes([0]) + amount.to_bytes(8, "little") + (amount * 2).to_bytes(8, "little") \
        + amount.to_bytes(8, "little")
    return "Program data: " + base64.b64encode(discriminator + body).decode()


def frame(program: str, *inner: str, depth: int = 1) -> list[str]:
    return [f"Program {program} invoke [{depth}]", *inner, f"Program {program} success"]


def test_two_deposits_in_one_transaction_have_their_instruction_indexes():
    logs = (frame("ComputeBudget111111111111111111111111111111")
            + frame(PROGRAM, *frame(str(TOKEN_PROGRAM_ID), depth=2), deposited_line(5))
            + frame(PROGRAM, deposited_line(7)))
    found = deposits_in("sig", logs, CLIENT)
    assert [(d.instruction_index, d.amount, d.owner, d.user_account) for d in found] == [
        (1, 5, str(OWNER), str(USER)), (2, 7, str(OWNER), str(USER))]
    assert found[0].key == "sig:1" and found[0].command_id != found[1].command_id
    assert len(found[0].command_id) <= 64 and found[0].command_id == deposits_in("sig", logs, CLIENT)[0].command_id


def test_an_event_logged_by_another_program_is_not_a_deposit():
    forged = frame(PROGRAM, *frame(str(Keypair().pubkey()), deposited_line(9), depth=2))
    assert deposits_in("sig", forged, CLIENT) == []
