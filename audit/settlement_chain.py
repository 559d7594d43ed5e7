"""Settlement batches as the chain holds them: every `settle_batch` of our program, decoded.

Reads `getSignaturesForAddress(program)` (oldest first) and `getTransaction` (base64, v0 with
lookup tables resolved through `meta.loadedAddresses`), decodes each top-level `settle_batch`
instruction's data with the program's IDL, and names its accounts: a delta's or withdrawal's
`account_index` is an index into the instruction's accounts; the user account found there is
read on chain for its (owner, sub-account); asset indices become symbols (`onchain.assets`).
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey
from solders.signature import Signature

from onchain.assets import AssetMap
from onchain.gateway import ChainGateway

LOOKUP_TABLE_META_SIZE = 56  # address lookup table account: header, then 32-byte addresses


@dataclass(frozen=True)
class ChainDelta:
    owner: str
    sub_account: int
    asset: str
    amount: int


@dataclass(frozen=True)
class ChainWithdrawal:
    owner: str
    sub_account: int
    asset: str
    amount: int
    vault: str
    destination: str
    mint: str | None  # of the asset, when the exchange has it
    from_exchange_vault: bool  # the vault is the exchange's own PDA for that mint


@dataclass(frozen=True)
class ChainBatch:
    """One settle_batch instruction that landed (successful transaction)."""

    signature: str
    slot: int
    authority: str
    sequence: int
    previous_hash: bytes
    log_hash: bytes
    deltas: tuple[ChainDelta, ...]
    withdrawals: tuple[ChainWithdrawal, ...]


async def read_chain_batches(gateway: ChainGateway, asset_symbols: tuple[str, ...]) -> list[ChainBatch]:
    """Every settle_batch of the program, in chain order (oldest first)."""
    state = await gateway.exchange_state()
    assets = AssetMap(asset_symbols[: len(state.mints)] or ("USDC",), state.mints)
    owners: dict[Pubkey, tuple[str, int]] = {}
    batches: list[ChainBatch] = []
    for signature in await gateway.program_signatures(None):
        batches.extend(await _batches_of(gateway, signature, assets, owners))
    return batches


async def _batches_of(gateway: ChainGateway, signature: str, assets: AssetMap,
                      owners: dict[Pubkey, tuple[str, int]]) -> list[ChainBatch]:
    found = (await gateway.rpc.call(lambda c: c.get_transaction(
        Signature.from_string(signature), encoding="base64", max_supported_transaction_version=0))).value
    if found is None or found.transaction.meta is None or found.transaction.meta.err is not None:
        return []
    transaction = found.transaction.transaction
    message = transaction.message
    keys = list(message.account_keys)
    keys += await _loaded_addresses(gateway, message, found.transaction.meta.loaded_addresses)
    program = gateway.client.program_id
    coder = gateway.client._program.coder.instruction  # the IDL's instruction layouts
    batches = []
    for instruction in message.instructions:
        if keys[instruction.program_id_index] != program:
            continue
        data = bytes(instruction.data)
        try:
            parsed = coder.parse(data)
        except Exception:  # noqa: BLE001 (another instruction of ours, or not ours at all)
            continue
        if parsed.name != "settle_batch":
            continue
        accounts = [keys[index] for index in bytes(instruction.accounts)]
        args = parsed.data
        deltas = []
        for delta in args.deltas:
            owner, sub = await _owner_of(gateway, accounts[delta.account_index], owners)
            deltas.append(ChainDelta(owner, sub, _symbol(assets, delta.asset_index), int(delta.amount)))
        withdrawals = []
        for item in args.withdrawals:
            owner, sub = await _owner_of(gateway, accounts[item.account_index], owners)
            withdrawals.append(ChainWithdrawal(owner, sub, _symbol(assets, item.asset_index), int(item.amount),
                                               str(accounts[item.vault_index]),
                                               str(accounts[item.destination_index]),
                                               _mint(assets, item.asset_index),
                                               _is_vault(gateway, accounts[item.vault_index], assets,
                                                         item.asset_index)))
        batches.append(ChainBatch(signature, int(found.slot), str(accounts[0]), int(args.sequence),
                                  bytes(args.previous_hash), bytes(args.log_hash), tuple(deltas),
                                  tuple(withdrawals)))
    return batches


async def _loaded_addresses(gateway: ChainGateway, message, loaded) -> list[Pubkey]:
    """The keys a v0 message loads from lookup tables: writable ones of every table, then the
    read-only ones. From `meta.loadedAddresses` when the node reports them, else resolved by
    reading the tables (append-only: an index, once filled, never changes)."""
    lookups = list(getattr(message, "address_table_lookups", None) or [])
    if not lookups:
        return []
    if loaded is not None and (list(loaded.writable) or list(loaded.readonly)):
        return list(loaded.writable) + list(loaded.readonly)
    writable, readonly = [], []
    for lookup in lookups:
        data = await gateway.account_data(lookup.account_key)
        if data is None:
            raise LookupError(f"address lookup table {lookup.account_key} is gone")
        table = [Pubkey.from_bytes(data[start:start + 32])
                 for start in range(LOOKUP_TABLE_META_SIZE, len(data) - 31, 32)]
        writable += [table[index] for index in bytes(lookup.writable_indexes)]
        readonly += [table[index] for index in bytes(lookup.readonly_indexes)]
    return writable + readonly


async def _owner_of(gateway: ChainGateway, address: Pubkey, owners: dict) -> tuple[str, int]:
    """(owner, sub-account) of a user account (static fields, read once per address)."""
    if address not in owners:
        account = await gateway.user_account_at(address)
        owners[address] = ("?" + str(address), -1) if account is None else (str(account.owner),
                                                                           int(account.sub_account))
    return owners[address]


def _is_vault(gateway: ChainGateway, address: Pubkey, assets: AssetMap, index: int) -> bool:
    return 0 <= index < len(assets.mints) and address == gateway.client.vault_address(assets.mints[index])


def _mint(assets: AssetMap, index: int) -> str | None:
    return str(assets.mints[index]) if 0 <= index < len(assets.mints) else None


def _symbol(assets: AssetMap, index: int) -> str:
    try:
        return assets.symbol_of(index)
    except KeyError:
        return f"asset#{index}"
