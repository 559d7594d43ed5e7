"""Python client of the QuantDesk program, driven by the Anchor IDL through anchorpy.

Builds instructions (solders ``Instruction``) from the committed IDL, derives the program's
PDAs, decodes accounts and ``Program data:`` events. Sending is the caller's business (LiteSVM
in tests, the RPC layer in production), so this module does no I/O.
"""

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anchorpy import Context, Idl, Program, Provider, Wallet
from solana.rpc.async_api import AsyncClient
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from onchain.interface import spec

IDL_PATH = Path(__file__).resolve().parent / "idl" / "quantdesk.json"
SYSTEM_PROGRAM_ID = Pubkey.default()
TOKEN_PROGRAM_ID = Pubkey.from_string(spec.TOKEN_PROGRAM_ID)
NATIVE_MINT = Pubkey.from_string(spec.NATIVE_MINT)
EVENT_PREFIX = "Program data: "
FIXED_SETTLE_ACCOUNTS = 4


@dataclass(frozen=True)
class DecodedEvent:
    name: str
    data: Any


class QuantDeskClient:
    """Instruction builders and decoders for one deployment of the program."""

    def __init__(self, program_id: Pubkey | None = None) -> None:
        idl_text = IDL_PATH.read_text()
        self.program_id = program_id or Pubkey.from_string(json.loads(idl_text)["metadata"]["address"])
        # anchorpy wants a provider; this one is never used for I/O (we only build and decode).
        provider = Provider(AsyncClient("http://127.0.0.1:9"), Wallet(Keypair()))
        self._program = Program(Idl.from_json(idl_text), self.program_id, provider)

    # -- addresses -----------------------------------------------------------------------
    def exchange_address(self) -> Pubkey:
        """The exchange PDA ['exchange']."""
        return Pubkey.find_program_address([spec.SEED_EXCHANGE], self.program_id)[0]

    def vault_authority_address(self) -> Pubkey:
        """The PDA that owns every vault ['vault_authority']."""
        return Pubkey.find_program_address([spec.SEED_VAULT_AUTHORITY], self.program_id)[0]

    def vault_address(self, mint: Pubkey) -> Pubkey:
        """The SPL token vault PDA ['vault', mint]."""
        return Pubkey.find_program_address([spec.SEED_VAULT, bytes(mint)], self.program_id)[0]

    def user_account_address(self, owner: Pubkey, sub_account: int = 0) -> Pubkey:
        """The user account PDA ['user', owner, sub_account]."""
        return Pubkey.find_program_address([spec.SEED_USER, bytes(owner), bytes([sub_account])], self.program_id)[0]

    # -- instructions --------------------------------------------------------------------
    def _build(self, name: str, args: list, accounts: dict, remaining: list[AccountMeta] | None = None) -> Instruction:
        context = Context(accounts=accounts, remaining_accounts=remaining or [])
        return self._program.instruction[name](*args, ctx=context)

    def initialize_exchange(self, admin: Pubkey, settlement_authority: Pubkey, mints: list[Pubkey],
                            escape_timeout_seconds: int) -> Instruction:
        """Create the exchange with its supported mints (asset index = position in ``mints``)."""
        return self._build("initialize_exchange", [escape_timeout_seconds, mints], {
            "admin": admin, "settlement_authority": settlement_authority, "exchange": self.exchange_address(),
            "vault_authority": self.vault_authority_address(), "system_program": SYSTEM_PROGRAM_ID})

    def initialize_token_vault(self, admin: Pubkey, mint: Pubkey, asset_index: int) -> Instruction:
        """Create the vault token account of one asset."""
        return self._build("initialize_token_vault", [asset_index], {
            "admin": admin, "exchange": self.exchange_address(), "mint": mint, "vault": self.vault_address(mint),
            "vault_authority": self.vault_authority_address(), "token_program": TOKEN_PROGRAM_ID,
            "system_program": SYSTEM_PROGRAM_ID})

    def create_user_account(self, owner: Pubkey, sub_account: int = 0) -> Instruction:
        """Create the owner's user account (sub-account 0..255)."""
        return self._build("create_user_account", [sub_account], {
            "owner": owner, "exchange": self.exchange_address(),
            "user_account": self.user_account_address(owner, sub_account), "system_program": SYSTEM_PROGRAM_ID})

    def deposit_tokens(self, owner: Pubkey, source: Pubkey, mint: Pubkey, asset_index: int, amount: int,
                       sub_account: int = 0) -> Instruction:
        """Deposit ``amount`` base units from the owner's token account ``source``."""
        return self._build("deposit_tokens", [asset_index, amount], {
            "owner": owner, "exchange": self.exchange_address(),
            "user_account": self.user_account_address(owner, sub_account), "source": source,
            "vault": self.vault_address(mint), "token_program": TOKEN_PROGRAM_ID})

    def deposit_native_sol(self, owner: Pubkey, lamports: int, sub_account: int = 0) -> Instruction:
        """Deposit lamports; they are wrapped into the wrapped-SOL vault."""
        return self._build("deposit_native_sol", [lamports], {
            "owner": owner, "exchange": self.exchange_address(),
            "user_account": self.user_account_address(owner, sub_account), "vault": self.vault_address(NATIVE_MINT),
            "token_program": TOKEN_PROGRAM_ID, "system_program": SYSTEM_PROGRAM_ID})

    def settle_batch(self, authority: Pubkey, sequence: int, previous_hash: bytes, log_hash: bytes,
                     deltas: list[tuple[Pubkey, int, int]],
                     withdrawals: list[tuple[Pubkey, int, int, Pubkey, Pubkey]] = ()) -> Instruction:
        """Settle one batch.

        ``deltas``: (user account, asset index, signed amount); ``withdrawals``: (user account,
        asset index, amount, vault, destination token account). Accounts are de-duplicated into
        the remaining accounts and referenced by index.
        """
        remaining: list[Pubkey] = []

        def index_of(key: Pubkey) -> int:
            if key not in remaining:
                remaining.append(key)
            return FIXED_SETTLE_ACCOUNTS + remaining.index(key)

        delta_args = [self._program.type["Delta"](account_index=index_of(account), asset_index=asset, amount=amount)
                      for account, asset, amount in deltas]
        withdrawal_args = [
            self._program.type["Withdrawal"](account_index=index_of(account), asset_index=asset,
                                             vault_index=index_of(vault), destination_index=index_of(destination),
                                             amount=amount)
            for account, asset, amount, vault, destination in withdrawals]
        metas = [AccountMeta(key, is_signer=False, is_writable=True) for key in remaining]
        return self._build("settle_batch", [sequence, list(previous_hash), list(log_hash), delta_args,
                                            withdrawal_args], {
            "authority": authority, "exchange": self.exchange_address(),
            "vault_authority": self.vault_authority_address(), "token_program": TOKEN_PROGRAM_ID}, metas)

    def escape_withdraw(self, owner: Pubkey, mint: Pubkey, asset_index: int, destination: Pubkey,
                        sub_account: int = 0) -> Instruction:
        """Take the last settled balance of one asset once the escape hatch is open."""
        return self._build("escape_withdraw", [asset_index], {
            "owner": owner, "exchange": self.exchange_address(),
            "user_account": self.user_account_address(owner, sub_account), "vault": self.vault_address(mint),
            "destination": destination, "vault_authority": self.vault_authority_address(),
            "token_program": TOKEN_PROGRAM_ID})

    # -- decoding ------------------------------------------------------------------------
    def decode_account(self, name: str, data: bytes) -> Any:
        """Decode an account ('Exchange' or 'UserAccount'), checking its discriminator."""
        return self._program.account[name].coder.accounts.decode(bytes(data))

    def decode_events(self, logs: list[str]) -> list[DecodedEvent]:
        """Events of this program found in a transaction's log lines."""
        events = []
        for line in logs:
            if not line.startswith(EVENT_PREFIX):
                continue
            event = self._program.coder.events.parse(base64.b64decode(line[len(EVENT_PREFIX):]))
            if event is not None:
                events.append(DecodedEvent(event.name, event.data))
        return events
