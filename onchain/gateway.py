"""The settler's and watcher's view of the chain: a few reads and one send, over `FailoverRpc`.

Everything goes through `solana`'s async client behind `onchain.rpc.failover` (several
providers, circuit breakers). Reads use the `finalized` commitment: the watcher credits only
finalized deposits, and the settler reconciles against what cannot roll back.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from solana.rpc.commitment import Finalized
from solana.rpc.core import RPCException
from solana.rpc.types import TxOpts
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction

from onchain.client import QuantDeskClient
from onchain.rpc.failover import FailoverRpc


@dataclass(frozen=True)
class ExchangeState:
    """What the settler reconciles against: the last settled batch and the mints."""

    last_sequence: int
    log_hash: bytes
    mints: tuple[Pubkey, ...]
    frozen: bool


@dataclass(frozen=True)
class Landed:
    """A sent transaction's outcome: its signature, error (None when it landed) and logs."""

    signature: str
    error: object | None
    logs: list[str]
    compute_units: int
    slot: int = 0


class ChainGateway:
    """Reads and sends for one deployment of the program."""

    def __init__(self, rpc: FailoverRpc, client: QuantDeskClient | None = None) -> None:
        self.rpc = rpc
        self.client = client or QuantDeskClient()

    async def account_data(self, address: Pubkey) -> bytes | None:
        """The raw data of an account, None if it does not exist."""
        answer = await self.rpc.call(lambda c: c.get_account_info(address, commitment=Finalized))
        return None if answer.value is None else bytes(answer.value.data)

    async def exchange_state(self) -> ExchangeState:
        """The exchange account, decoded."""
        data = await self.account_data(self.client.exchange_address())
        if data is None:
            raise RuntimeError("the exchange is not initialized on chain")
        exchange = self.client.decode_account("Exchange", data)
        mints = tuple(exchange.mints[: exchange.mint_count])
        return ExchangeState(exchange.last_sequence, bytes(exchange.log_hash), mints, bool(exchange.frozen))

    async def user_account(self, owner: Pubkey, sub_account: int):
        """The decoded UserAccount of (owner, sub-account), or None."""
        data = await self.account_data(self.client.user_account_address(owner, sub_account))
        return None if data is None else self.client.decode_account("UserAccount", data)

    async def user_account_at(self, address: Pubkey):
        """The decoded UserAccount at an address, or None."""
        data = await self.account_data(address)
        return None if data is None else self.client.decode_account("UserAccount", data)

    async def send(self, instructions: list[Instruction], payer: Keypair, *signers: Keypair) -> Landed:
        """Sign, send (with preflight) and wait until the transaction is confirmed.

        A program error in preflight raises `solana.rpc.core.RPCException` (the node answered;
        nothing was sent); a failure after sending comes back as `Landed.error`.
        """
        transaction = await self.signed_transaction(instructions, payer, *signers)
        return await self.send_signed(transaction)

    async def signed_transaction(self, instructions: list[Instruction], payer: Keypair,
                                 *signers: Keypair) -> Transaction:
        """A legacy transaction on a fresh blockhash, signed by the payer and ``signers``."""
        blockhash = (await self.rpc.call(lambda c: c.get_latest_blockhash())).value.blockhash
        return Transaction([payer, *signers], Message(instructions, payer.pubkey()), blockhash)

    async def send_signed(self, transaction: Transaction | VersionedTransaction) -> Landed:
        """Send a signed transaction and wait for its confirmation (see `send`)."""
        raw = bytes(transaction)
        signature = (await self.rpc.call(lambda c: c.send_raw_transaction(raw, opts=TxOpts(skip_confirmation=True)))).value
        return await self.wait_for(signature)

    async def wait_for(self, signature: Signature, attempts: int = 60) -> Landed:
        """Poll until the transaction is found, then read its logs and outcome."""
        for _ in range(attempts):
            found = (await self.rpc.call(lambda c: c.get_transaction(signature, max_supported_transaction_version=0))).value
            if found is not None:
                meta = found.transaction.meta
                return Landed(str(signature), meta.err, list(meta.log_messages or []),
                              int(meta.compute_units_consumed or 0), int(found.slot))
            await asyncio.sleep(0.2)
        raise TimeoutError(f"transaction {signature} not found")

    async def program_signatures(self, until: str | None, limit: int = 1000) -> list[str]:
        """Finalized, successful signatures naming the program, OLDEST first, newer than ``until``."""
        newest_first: list[str] = []
        before = None
        while True:
            until_signature = Signature.from_string(until) if until else None
            page = (await self.rpc.call(lambda c: c.get_signatures_for_address(
                self.client.program_id, before=before, until=until_signature, limit=limit,
                commitment=Finalized))).value
            newest_first.extend(str(entry.signature) for entry in page if entry.err is None)
            if len(page) < limit:
                break
            before = page[-1].signature
        return list(reversed(newest_first))

    async def transaction_logs(self, signature: str) -> list[str]:
        """The log lines of one finalized transaction."""
        found = (await self.rpc.call(lambda c: c.get_transaction(
            Signature.from_string(signature), commitment=Finalized, max_supported_transaction_version=0))).value
        return [] if found is None else list(found.transaction.meta.log_messages or [])


def is_program_error(error: BaseException, code: int) -> bool:
    """True if an RPC refusal carries our program's custom error ``code``."""
    return isinstance(error, RPCException) and f"Custom({code})" in str(error)
