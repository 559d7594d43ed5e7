"""A local chain: LiteSVM with the program loaded, SPL fixtures and a non-raising send (tests, bench)."""

import struct
from dataclasses import dataclass
from pathlib import Path

from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata

from onchain.client import NATIVE_MINT, TOKEN_PROGRAM_ID, QuantDeskClient

PROGRAM_PATH = Path(__file__).resolve().parent / "program" / "quantdesk.so"
RENT_EXEMPT_TOKEN_ACCOUNT = 2_039_280


@dataclass
class Sent:
    """Outcome of one transaction: logs, compute units and the custom error code if it failed."""

    ok: bool
    logs: list[str]
    compute_units: int
    error_code: int | None
    error: str


class Chain:
    """LiteSVM with the program loaded at the client's address."""

    def __init__(self) -> None:
        self.svm = LiteSVM()
        self.client = QuantDeskClient()
        self.svm.add_program(self.client.program_id, PROGRAM_PATH.read_bytes())

    def funded_keypair(self, lamports: int = 10_000_000_000) -> Keypair:
        keypair = Keypair()
        self.svm.airdrop(keypair.pubkey(), lamports)
        return keypair

    def send(self, instructions: list[Instruction] | Instruction, *signers: Keypair) -> Sent:
        """Sign with ``signers`` (first pays) and run; never raises on program failure."""
        if isinstance(instructions, Instruction):
            instructions = [instructions]
        self.svm.expire_blockhash()
        message = Message(instructions, signers[0].pubkey())
        result = self.svm.send_transaction(Transaction(list(signers), message, self.svm.latest_blockhash()))
        if isinstance(result, FailedTransactionMetadata):
            meta = result.meta()
            error = str(result.err())
            custom = getattr(getattr(result.err(), "err", None), "code", None)
            code = custom if isinstance(custom, int) else None
            return Sent(False, list(meta.logs()), meta.compute_units_consumed(), code, error)
        return Sent(True, list(result.logs()), result.compute_units_consumed(), None, "")

    # -- SPL fixtures written directly (the SPL program itself runs every transfer) ------
    def create_mint(self, decimals: int = 6, address: Pubkey | None = None) -> Pubkey:
        mint = address or Keypair().pubkey()
        data = struct.pack("<I32sQBBI32s", 0, bytes(32), 0, decimals, 1, 0, bytes(32))
        self.svm.set_account(mint, Account(lamports=1_461_600, data=data, owner=TOKEN_PROGRAM_ID, executable=False))
        return mint

    def create_native_mint(self) -> Pubkey:
        return self.create_mint(decimals=9, address=NATIVE_MINT)

    def create_token_account(self, mint: Pubkey, owner: Pubkey, amount: int = 0) -> Pubkey:
        address = Keypair().pubkey()
        data = bytes(mint) + bytes(owner) + struct.pack("<Q", amount) + bytes(36) + bytes([1]) + bytes(12 + 8 + 36)
        self.svm.set_account(address, Account(lamports=RENT_EXEMPT_TOKEN_ACCOUNT, data=data, owner=TOKEN_PROGRAM_ID,
                                              executable=False))
        return address

    def token_balance(self, address: Pubkey) -> int:
        return struct.unpack_from("<Q", bytes(self.svm.get_account(address).data), 64)[0]

    def decode(self, name: str, address: Pubkey):
        return self.client.decode_account(name, self.svm.get_account(address).data)

    def set_unix_time(self, unix_timestamp: int) -> None:
        clock = self.svm.get_clock()
        clock.unix_timestamp = unix_timestamp
        self.svm.set_clock(clock)
