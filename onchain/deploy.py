"""Instructions that deploy the program through the upgradeable BPF loader (loader-v3).

The real deploy path: create a buffer, write the binary in transaction-sized chunks, then
create the program account and DeployWithMaxDataLen. Returns instruction groups, one group per
transaction, so any sender (LiteSVM in tests, the RPC client in production) can run them.
Instruction encodings are bincode of ``UpgradeableLoaderInstruction`` (u32 variant tag).
"""

import struct
from collections.abc import Callable
from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account

LOADER_ID = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
SYSVAR_RENT_ID = Pubkey.from_string("SysvarRent111111111111111111111111111111111")
SYSVAR_CLOCK_ID = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")
SYSTEM_PROGRAM_ID = Pubkey.default()
BUFFER_METADATA_SIZE = 37  # enum tag u32 + Option<Pubkey> authority
PROGRAM_ACCOUNT_SIZE = 36  # enum tag u32 + programdata address
WRITE_CHUNK = 900  # keeps a Write transaction under 1,232 bytes with two signatures


@dataclass(frozen=True)
class DeployPlan:
    """Transactions in order: [create+init buffer], [write]..., [create program+deploy]."""

    create_buffer: list[Instruction]
    writes: list[list[Instruction]]
    deploy: list[Instruction]
    programdata: Pubkey


def programdata_address(program_id: Pubkey) -> Pubkey:
    """Where loader-v3 keeps the program's code."""
    return Pubkey.find_program_address([bytes(program_id)], LOADER_ID)[0]


def plan_deploy(payer: Pubkey, buffer: Pubkey, program_id: Pubkey, binary: bytes,
                rent_for: Callable[[int], int]) -> DeployPlan:
    """Instruction groups deploying ``binary`` at ``program_id`` (buffer and program keypairs sign)."""
    buffer_size = BUFFER_METADATA_SIZE + len(binary)
    create_buffer = [
        create_account(CreateAccountParams(from_pubkey=payer, to_pubkey=buffer, lamports=rent_for(buffer_size),
                                           space=buffer_size, owner=LOADER_ID)),
        Instruction(LOADER_ID, struct.pack("<I", 0), [AccountMeta(buffer, False, True), AccountMeta(payer, False, False)]),
    ]
    writes = []
    for offset in range(0, len(binary), WRITE_CHUNK):
        chunk = binary[offset:offset + WRITE_CHUNK]
        data = struct.pack("<IIQ", 1, offset, len(chunk)) + chunk
        writes.append([Instruction(LOADER_ID, data, [AccountMeta(buffer, False, True), AccountMeta(payer, True, False)])])
    programdata = programdata_address(program_id)
    deploy = [
        create_account(CreateAccountParams(from_pubkey=payer, to_pubkey=program_id,
                                           lamports=rent_for(PROGRAM_ACCOUNT_SIZE), space=PROGRAM_ACCOUNT_SIZE,
                                           owner=LOADER_ID)),
        Instruction(LOADER_ID, struct.pack("<IQ", 2, len(binary)), [
            AccountMeta(payer, True, True), AccountMeta(programdata, False, True), AccountMeta(program_id, False, True),
            AccountMeta(buffer, False, True), AccountMeta(SYSVAR_RENT_ID, False, False),
            AccountMeta(SYSVAR_CLOCK_ID, False, False), AccountMeta(SYSTEM_PROGRAM_ID, False, False),
            AccountMeta(payer, True, False)]),
    ]
    return DeployPlan(create_buffer, writes, deploy, programdata)
