"""The settler's address lookup table: with it a batch names each account by a 1-byte index, so
one v0 transaction settles ~3x more accounts than a legacy one (20 keys).

The table is created once (its address kept in `onchain_settler_state`) and extended, up to
20 addresses per transaction, with every account a batch needs that it does not hold yet:
the exchange, the vault authority, the token program, vaults, user accounts, destinations. An
extension is usable from the next slot. Static keys stay the authority (signer, fee payer) and
the program (invoked programs cannot come from a table).

Limits: one table holds 256 addresses, so one table serves ~250 distinct accounts; beyond that
the settler needs a second table (not done). The transaction-wide account-lock limit (64 on
clusters still without the 128-lock feature) bounds the accounts per batch: `max_locks`.
"""

from __future__ import annotations

import asyncio

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from onchain.gateway import ChainGateway
from onchain.lookup_table import MAX_ADDRESSES_PER_EXTEND, create_lookup_table, extend_lookup_table

TABLE_HEADER_BYTES = 56  # LookupTableMeta, then the addresses, 32 bytes each
TABLE_CAPACITY = 256
STATE_KEY = "lookup_table"


class LookupTableFull(RuntimeError):
    """The settler's table cannot hold more addresses."""


class SettlerLookupTable:
    """One lookup table owned by the settlement authority."""

    def __init__(self, gateway: ChainGateway, authority: Keypair, journal) -> None:
        self.gateway, self.authority, self.journal = gateway, authority, journal
        self.address: Pubkey | None = None
        self.addresses: list[Pubkey] = []

    async def open(self) -> None:
        """Load the table named in the journal's state, or create one."""
        known = await asyncio.to_thread(self.journal.state, STATE_KEY)
        if known is not None:
            self.address = Pubkey.from_string(known)
            data = await self.gateway.account_data(self.address)
            if data is not None:
                self.addresses = [Pubkey.from_bytes(data[i:i + 32]) for i in range(TABLE_HEADER_BYTES, len(data), 32)]
                return
        slot = (await self.gateway.rpc.call(lambda c: c.get_slot())).value
        create, self.address = create_lookup_table(self.authority.pubkey(), self.authority.pubkey(), max(slot - 1, 0))
        landed = await self.gateway.send([create], self.authority)
        if landed.error is not None:
            raise RuntimeError(f"cannot create the lookup table: {landed.error}")
        self.addresses = []
        await asyncio.to_thread(self.journal.set_state, STATE_KEY, str(self.address))

    async def include(self, addresses: list[Pubkey]) -> None:
        """Extend the table with the addresses it lacks (then they are usable from the next slot)."""
        held = set(self.addresses)
        missing = list(dict.fromkeys(a for a in addresses if a not in held))
        if len(self.addresses) + len(missing) > TABLE_CAPACITY:
            raise LookupTableFull(f"{len(self.addresses)} + {len(missing)} addresses > {TABLE_CAPACITY}")
        last_slot = None
        for start in range(0, len(missing), MAX_ADDRESSES_PER_EXTEND):
            chunk = missing[start:start + MAX_ADDRESSES_PER_EXTEND]
            landed = await self.gateway.send([extend_lookup_table(self.address, self.authority.pubkey(),
                                                                  self.authority.pubkey(), chunk)], self.authority)
            if landed.error is not None:
                raise RuntimeError(f"cannot extend the lookup table: {landed.error}")
            self.addresses.extend(chunk)
            last_slot = landed.slot
        if last_slot is not None:
            await self._slot_after(last_slot)

    async def _slot_after(self, slot: int) -> None:
        """Wait until the chain is past ``slot`` (new table entries are usable from the next slot)."""
        while (await self.gateway.rpc.call(lambda c: c.get_slot())).value <= slot:
            await asyncio.sleep(0.05)

    async def transaction(self, instruction: Instruction) -> VersionedTransaction:
        """A v0 transaction of ``instruction`` naming its accounts through the table."""
        await self.include([meta.pubkey for meta in instruction.accounts if meta.pubkey != self.authority.pubkey()])
        blockhash = (await self.gateway.rpc.call(lambda c: c.get_latest_blockhash())).value.blockhash
        table = AddressLookupTableAccount(self.address, self.addresses)
        message = MessageV0.try_compile(self.authority.pubkey(), [instruction], [table], blockhash)
        return VersionedTransaction(message, [self.authority])
