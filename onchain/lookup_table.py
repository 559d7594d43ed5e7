"""Address lookup tables: how a settle_batch carries up to the 64-account transaction limit.

A legacy transaction spends 32 bytes per account, so only 20 one-delta accounts fit in 1,232
bytes; a v0 transaction names table entries with 1 byte each. The settler keeps the user
accounts in tables it owns (create once, extend as users appear; entries are usable from the
slot after they were added). Encodings are bincode of ``ProgramInstruction`` (u32 variant tag).
"""

import struct

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

LOOKUP_TABLE_PROGRAM_ID = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")
SYSTEM_PROGRAM_ID = Pubkey.default()
MAX_ADDRESSES_PER_EXTEND = 20  # keeps an extend transaction under 1,232 bytes


def lookup_table_address(authority: Pubkey, recent_slot: int) -> Pubkey:
    """The table's address: PDA of (authority, recent_slot) under the lookup-table program."""
    return Pubkey.find_program_address([bytes(authority), recent_slot.to_bytes(8, "little")],
                                       LOOKUP_TABLE_PROGRAM_ID)[0]


def create_lookup_table(authority: Pubkey, payer: Pubkey, recent_slot: int) -> tuple[Instruction, Pubkey]:
    """CreateLookupTable; ``recent_slot`` must be in the SlotHashes sysvar (a recent slot)."""
    table, bump = Pubkey.find_program_address([bytes(authority), recent_slot.to_bytes(8, "little")],
                                              LOOKUP_TABLE_PROGRAM_ID)
    data = struct.pack("<IQB", 0, recent_slot, bump)
    accounts = [AccountMeta(table, False, True), AccountMeta(authority, True, False), AccountMeta(payer, True, True),
                AccountMeta(SYSTEM_PROGRAM_ID, False, False)]
    return Instruction(LOOKUP_TABLE_PROGRAM_ID, data, accounts), table


def extend_lookup_table(table: Pubkey, authority: Pubkey, payer: Pubkey, addresses: list[Pubkey]) -> Instruction:
    """ExtendLookupTable with up to MAX_ADDRESSES_PER_EXTEND new addresses."""
    if len(addresses) > MAX_ADDRESSES_PER_EXTEND:
        raise ValueError(f"at most {MAX_ADDRESSES_PER_EXTEND} addresses per extend transaction")
    data = struct.pack("<IQ", 2, len(addresses)) + b"".join(bytes(a) for a in addresses)
    accounts = [AccountMeta(table, False, True), AccountMeta(authority, True, False), AccountMeta(payer, True, True),
                AccountMeta(SYSTEM_PROGRAM_ID, False, False)]
    return Instruction(LOOKUP_TABLE_PROGRAM_ID, data, accounts)
