"""Deposits found in a transaction's log lines (pure).

The program logs a `Deposited` event (`Program data: <base64>`) in the frame of its own
instruction. Log lines show the frames: `Program <id> invoke [1]` starts top-level instruction
number k (counted from 0 in transaction order, compute-budget instructions included), deeper
`invoke [n]` lines are CPIs, `Program <id> success|failed` closes a frame. An event counts only
when our program is the frame that logged it (a CPI'd program cannot forge one of ours).

Key of a deposit: (transaction signature, instruction index) — one transaction may hold several
deposits, and the same transaction read twice is the same deposits. The command id derived
from it makes the engine credit it once, forever.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from onchain.client import QuantDeskClient

_INVOKE = re.compile(r"^Program (\w+) invoke \[(\d+)\]$")
_CLOSE = re.compile(r"^Program (\w+) (success|failed)")
_DATA = "Program data: "


@dataclass(frozen=True)
class DepositSeen:
    """One credited deposit of the program, where it happened and what it credits."""

    signature: str
    instruction_index: int
    owner: str
    user_account: str
    asset_index: int
    amount: int

    @property
    def key(self) -> str:
        """`<signature>:<instruction index>` (the Deposit command's `chain_tx`)."""
        return f"{self.signature}:{self.instruction_index}"

    @property
    def command_id(self) -> str:
        """A command id (≤ 64 characters) derived from the key: the same deposit, the same id."""
        return "dep-" + hashlib.sha256(self.key.encode()).hexdigest()[:48]


def deposits_in(signature: str, logs: list[str], client: QuantDeskClient) -> list[DepositSeen]:
    """Every Deposited event our program logged in this transaction, with its instruction index."""
    program = str(client.program_id)
    frames: list[str] = []
    instruction_index = -1
    found = []
    for line in logs:
        invoked = _INVOKE.match(line)
        if invoked:
            if invoked.group(2) == "1":
                instruction_index += 1
                frames.clear()
            frames.append(invoked.group(1))
            continue
        if _CLOSE.match(line):
            if frames:
                frames.pop()
            continue
        if line.startswith(_DATA) and frames and frames[-1] == program:
            for event in client.decode_events([line]):
                if event.name == "Deposited":
                    data = event.data
                    found.append(DepositSeen(signature, instruction_index, str(data.owner), str(data.user_account),
                                             int(data.asset_index), int(data.amount)))
    return found
