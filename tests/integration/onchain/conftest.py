"""Fixtures for the program in the real SVM: a fresh LiteSVM per test, optionally with a market."""

from dataclasses import dataclass

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from onchain.local_chain import Chain

USDC, SOL = 0, 1
ESCAPE_TIMEOUT = 86_400
START_TIME = 1_800_000_000


@dataclass
class Trader:
    keypair: Keypair
    user_account: Pubkey
    usdc_wallet: Pubkey

    @property
    def key(self) -> Pubkey:
        return self.keypair.pubkey()


@dataclass
class Market:
    """An initialized exchange with a USDC and a wrapped-SOL vault and four user accounts."""

    chain: Chain
    admin: Keypair
    authority: Keypair
    usdc: Pubkey
    alice: Trader
    bob: Trader
    fees: Trader
    insurance: Trader

    def trader(self, funded_usdc: int = 1_000_000_000) -> Trader:
        keypair = self.chain.funded_keypair()
        assert self.chain.send(self.chain.client.create_user_account(keypair.pubkey()), keypair).ok
        wallet = self.chain.create_token_account(self.usdc, keypair.pubkey(), funded_usdc)
        return Trader(keypair, self.chain.client.user_account_address(keypair.pubkey()), wallet)

    def deposit(self, trader: Trader, amount: int) -> None:
        sent = self.chain.send(self.chain.client.deposit_tokens(trader.key, trader.usdc_wallet, self.usdc, USDC,
                                                                amount), trader.keypair)
        assert sent.ok, sent.logs


@pytest.fixture
def chain() -> Chain:
    chain = Chain()
    chain.set_unix_time(START_TIME)
    return chain


@pytest.fixture
def market(chain: Chain) -> Market:
    return build_market(chain)


def build_market(chain: Chain) -> Market:
    """Exchange with USDC (asset 0) and wrapped SOL (asset 1), both vaults, Alice, Bob, fees, insurance."""
    admin, authority = chain.funded_keypair(), chain.funded_keypair()
    usdc = chain.create_mint(6)
    native = chain.create_native_mint()
    client = chain.client
    sent = chain.send([client.initialize_exchange(admin.pubkey(), authority.pubkey(), [usdc, native], ESCAPE_TIMEOUT),
                       client.initialize_token_vault(admin.pubkey(), usdc, USDC),
                       client.initialize_token_vault(admin.pubkey(), native, SOL)], admin)
    assert sent.ok, sent.logs
    market = Market(chain, admin, authority, usdc, None, None, None, None)
    market.alice, market.bob, market.fees, market.insurance = (market.trader() for _ in range(4))
    return market


def with_account(instruction: Instruction, position: int, key: Pubkey, signer: bool | None = None) -> Instruction:
    """The same instruction with the account at ``position`` replaced (a hostile variant)."""
    metas = list(instruction.accounts)
    old = metas[position]
    metas[position] = AccountMeta(key, is_signer=old.is_signer if signer is None else signer,
                                  is_writable=old.is_writable)
    return Instruction(instruction.program_id, instruction.data, metas)


def unsigned(instruction: Instruction, position: int) -> Instruction:
    """The same instruction with the account at ``position`` no longer a signer."""
    return with_account(instruction, position, instruction.accounts[position].pubkey, signer=False)
