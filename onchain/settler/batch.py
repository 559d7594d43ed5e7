"""One settlement batch = one settle_batch instruction in one legacy transaction.

A batch commits to the log: `log_hash` is the audit chain's head hash at `last_position`, the
last event whose money movements it carries; `previous_hash` is the hash the exchange stored
with the previous batch. Size: a legacy transaction holds at most 1,232 bytes; `fits` builds
the real transaction and measures it (≈ 20 one-delta accounts), and bounds the compute units
(measured: ≈ 3k CU base + ≈ 550 per delta + ≈ 9.5k per withdrawal; 200k per instruction).
Withdrawals are paid to the destination's associated token account for the asset's mint.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.instruction import Instruction
from solders.message import Message
from solders.pubkey import Pubkey

from onchain.assets import AssetMap
from onchain.client import TOKEN_PROGRAM_ID, QuantDeskClient
from onchain.settler.netting import AccountKey, Netting

PACKET_BYTES = 1232
COMPUTE_UNIT_LIMIT = 200_000
BASE_COMPUTE_UNITS, PER_DELTA_UNITS, PER_WITHDRAWAL_UNITS = 4_000, 700, 10_000
ASSOCIATED_TOKEN_PROGRAM_ID = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")


def associated_token_address(wallet: Pubkey, mint: Pubkey) -> Pubkey:
    """The SPL associated token account of (wallet, mint)."""
    return Pubkey.find_program_address([bytes(wallet), bytes(TOKEN_PROGRAM_ID), bytes(mint)],
                                       ASSOCIATED_TOKEN_PROGRAM_ID)[0]


@dataclass(frozen=True)
class SettlementBatch:
    """What one batch settles, in domain terms (JSON-safe via `as_record`)."""

    sequence: int
    previous_hash: bytes
    log_hash: bytes
    first_position: int
    last_position: int
    deltas: tuple[tuple[AccountKey, str, int], ...]
    payouts: tuple  # of netting.Payout

    def instruction(self, client: QuantDeskClient, authority: Pubkey, assets: AssetMap) -> Instruction:
        """The settle_batch instruction."""
        return build_instruction(client, authority, assets, self.sequence, self.previous_hash, self.log_hash,
                                 self.deltas, self.payouts)

    def as_record(self) -> dict:
        """The batch as JSON-safe data (for the journal and the log)."""
        return {
            "sequence": self.sequence, "previous_hash": self.previous_hash.hex(), "log_hash": self.log_hash.hex(),
            "first_position": self.first_position, "last_position": self.last_position,
            "deltas": [{"owner": a.owner, "sub_account": a.sub_account, "asset": asset, "amount": amount}
                       for a, asset, amount in self.deltas],
            "withdrawals": [{"owner": p.account.owner, "sub_account": p.account.sub_account, "asset": p.asset,
                             "amount": p.amount, "withdrawal_id": p.withdrawal_id, "destination": p.destination}
                            for p in self.payouts],
        }


def build_instruction(client: QuantDeskClient, authority: Pubkey, assets: AssetMap, sequence: int,
                      previous_hash: bytes, log_hash: bytes, deltas, payouts) -> Instruction:
    """settle_batch from domain-level deltas and payouts."""
    def user(account: AccountKey) -> Pubkey:
        return client.user_account_address(Pubkey.from_string(account.owner), account.sub_account)

    chain_deltas = [(user(account), assets.index_of(asset), amount) for account, asset, amount in deltas]
    withdrawals = []
    for payout in payouts:
        mint = assets.mint_of(payout.asset)
        withdrawals.append((user(payout.account), assets.index_of(payout.asset), payout.amount,
                            client.vault_address(mint),
                            associated_token_address(Pubkey.from_string(payout.destination), mint)))
    return client.settle_batch(authority, sequence, previous_hash, log_hash, chain_deltas, withdrawals)


def transaction_size(instruction: Instruction, authority: Pubkey) -> int:
    """Bytes of the signed legacy transaction carrying ``instruction`` (one signature)."""
    message = Message([instruction], authority)
    return 1 + 64 + len(bytes(message))  # signature count (shortvec), one signature, the message


def estimated_compute_units(delta_count: int, withdrawal_count: int) -> int:
    return BASE_COMPUTE_UNITS + PER_DELTA_UNITS * delta_count + PER_WITHDRAWAL_UNITS * withdrawal_count


def _shortvec(length: int) -> int:
    return 1 if length < 0x80 else 2 if length < 0x4000 else 3


FIXED_KEYS = 5  # authority, exchange, vault authority, token program, the program
MAX_ACCOUNT_LOCKS = 64  # per transaction on clusters without the 128-lock feature


def _remaining(entries, payouts) -> set:
    return ({account for account, _, _ in entries} | {p.account for p in payouts}
            | {("vault", p.asset) for p in payouts} | {("destination", p.destination, p.asset) for p in payouts})


def _data_bytes(entries, payouts) -> int:
    return 8 + 8 + 32 + 32 + 4 + 10 * len(entries) + 4 + 12 * len(payouts)


def planned_size(entries, payouts, lookup_table: bool = False) -> int:
    """Bytes of the settle_batch transaction, computed from the batch's shape.

    Equal to building it (checked by a test) at a fraction of the cost. Legacy: keys are the
    authority, exchange, vault authority, token program, the program, then every distinct user
    account, vault and destination. v0 with a lookup table: only the authority and the program
    are static keys, every other account is a 1-byte table index. Data = discriminator,
    sequence, two hashes, 10 bytes per delta and 12 per withdrawal, each vector with a u32 length.
    """
    remaining = len(_remaining(entries, payouts))
    data = _data_bytes(entries, payouts)
    instruction_accounts = FIXED_KEYS - 1 + remaining  # every key but the program itself
    instruction = 1 + _shortvec(instruction_accounts) + instruction_accounts + _shortvec(data) + data
    if not lookup_table:
        keys = FIXED_KEYS + remaining
        return 1 + 64 + 3 + _shortvec(keys) + 32 * keys + 32 + 1 + instruction
    writable, readonly = 1 + remaining, 2  # exchange + remaining; vault authority, token program
    lookup = 32 + _shortvec(writable) + writable + _shortvec(readonly) + readonly
    return 1 + 64 + 1 + 3 + 1 + 2 * 32 + 32 + 1 + instruction + 1 + lookup


def account_locks(entries, payouts) -> int:
    """Accounts the transaction locks (static and loaded)."""
    return FIXED_KEYS + len(_remaining(entries, payouts))


def fits(netting: Netting, lookup_table: bool = False, max_locks: int = MAX_ACCOUNT_LOCKS) -> bool:
    """True if the netted batch fits one transaction (bytes, account locks, compute units)."""
    entries = netting.entries()
    if estimated_compute_units(len(entries), len(netting.payouts)) > COMPUTE_UNIT_LIMIT:
        return False
    if account_locks(entries, netting.payouts) > max_locks:
        return False
    return planned_size(entries, netting.payouts, lookup_table) <= PACKET_BYTES


def batch_from(netting: Netting, sequence: int, previous_hash: bytes, log_hash: bytes,
               first_position: int) -> SettlementBatch:
    """Freeze a netting into the batch of ``sequence``."""
    return SettlementBatch(sequence, previous_hash, log_hash, first_position, netting.last_position,
                           tuple(netting.entries()), tuple(netting.payouts))

