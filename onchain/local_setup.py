"""A development exchange over RPC, built with real instructions (tests, the benchmark, `make run`).

SPL mints and token accounts are created with the SPL Token and Associated Token Account
programs (no account is written behind the chain's back), then the exchange, its vaults and
the users' accounts with our program. Works against any RPC endpoint where the payers can be
airdropped (our LiteSVM-backed local server, a test validator).
"""

from __future__ import annotations

from dataclasses import dataclass

import spl.token.instructions as spl
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account

from onchain.client import TOKEN_PROGRAM_ID
from onchain.gateway import ChainGateway, Landed
from onchain.settler.batch import associated_token_address

MINT_SIZE = 82
TOKEN_ACCOUNT_SIZE = 165
ESCAPE_TIMEOUT_SECONDS = 7 * 86_400


class SetupFailed(RuntimeError):
    """A set-up transaction did not land."""


async def landed(gateway: ChainGateway, instructions, payer: Keypair, *signers: Keypair) -> Landed:
    """Send and require success."""
    result = await gateway.send(list(instructions), payer, *signers)
    if result.error is not None:
        raise SetupFailed(f"{result.error}: {result.logs[-5:]}")
    return result


async def airdrop(gateway: ChainGateway, key: Pubkey, lamports: int = 100_000_000_000) -> None:
    await gateway.rpc.call(lambda c: c.request_airdrop(key, lamports))


async def create_mint(gateway: ChainGateway, authority: Keypair, decimals: int) -> Pubkey:
    """A new SPL mint whose mint authority is ``authority``."""
    mint = Keypair()
    rent = (await gateway.rpc.call(lambda c: c.get_minimum_balance_for_rent_exemption(MINT_SIZE))).value
    await landed(gateway, [
        create_account(CreateAccountParams(from_pubkey=authority.pubkey(), to_pubkey=mint.pubkey(), lamports=rent,
                                           space=MINT_SIZE, owner=TOKEN_PROGRAM_ID)),
        spl.initialize_mint(spl.InitializeMintParams(decimals=decimals, program_id=TOKEN_PROGRAM_ID,
                                                     mint=mint.pubkey(), mint_authority=authority.pubkey(),
                                                     freeze_authority=None)),
    ], authority, mint)
    return mint.pubkey()


async def wallet_with(gateway: ChainGateway, payer: Keypair, owner: Pubkey, mint: Pubkey, amount: int = 0) -> Pubkey:
    """The owner's associated token account for ``mint`` (created), holding ``amount`` new tokens."""
    instructions = [spl.create_associated_token_account(payer.pubkey(), owner, mint)]
    address = associated_token_address(owner, mint)
    if amount:
        instructions.append(spl.mint_to(spl.MintToParams(program_id=TOKEN_PROGRAM_ID, mint=mint, dest=address,
                                                         mint_authority=payer.pubkey(), amount=amount)))
    await landed(gateway, instructions, payer)
    return address


async def plain_wallet(gateway: ChainGateway, payer: Keypair, owner: Pubkey, mint: Pubkey, amount: int) -> Pubkey:
    """A token account of ``owner`` at a random address (not the associated one), holding ``amount``."""
    account = Keypair()
    rent = (await gateway.rpc.call(lambda c: c.get_minimum_balance_for_rent_exemption(TOKEN_ACCOUNT_SIZE))).value
    await landed(gateway, [
        create_account(CreateAccountParams(from_pubkey=payer.pubkey(), to_pubkey=account.pubkey(), lamports=rent,
                                           space=TOKEN_ACCOUNT_SIZE, owner=TOKEN_PROGRAM_ID)),
        spl.initialize_account(spl.InitializeAccountParams(program_id=TOKEN_PROGRAM_ID, account=account.pubkey(),
                                                           mint=mint, owner=owner)),
        spl.mint_to(spl.MintToParams(program_id=TOKEN_PROGRAM_ID, mint=mint, dest=account.pubkey(),
                                     mint_authority=payer.pubkey(), amount=amount)),
    ], payer, account)
    return account.pubkey()


@dataclass
class LocalExchange:
    """An initialized exchange: admin (also the mints' authority), settlement authority, mints."""

    gateway: ChainGateway
    admin: Keypair
    authority: Keypair
    mints: list[Pubkey]

    async def user(self, owner: Keypair, funded: dict[int, int] | None = None, sub_account: int = 0) -> dict[int, Pubkey]:
        """Airdrop ``owner``, open its user account, give it token wallets: {asset index: wallet}."""
        await airdrop(self.gateway, owner.pubkey(), 10_000_000_000)
        client = self.gateway.client
        await landed(self.gateway, [client.create_user_account(owner.pubkey(), sub_account)], owner)
        return {index: await wallet_with(self.gateway, self.admin, owner.pubkey(), mint, (funded or {}).get(index, 0))
                for index, mint in enumerate(self.mints)}

    async def deposit(self, owner: Keypair, wallet: Pubkey, asset_index: int, amount: int, sub_account: int = 0) -> Landed:
        """deposit_tokens from ``wallet``."""
        instruction = self.gateway.client.deposit_tokens(owner.pubkey(), wallet, self.mints[asset_index], asset_index,
                                                         amount, sub_account)
        return await landed(self.gateway, [instruction], owner)


async def bootstrap(gateway: ChainGateway, decimals: list[int], admin: Keypair | None = None,
                    authority: Keypair | None = None) -> LocalExchange:
    """Mints, the exchange (escape timeout one week) and one vault per mint."""
    admin, authority = admin or Keypair(), authority or Keypair()
    for key in (admin.pubkey(), authority.pubkey()):
        await airdrop(gateway, key)
    mints = [await create_mint(gateway, admin, places) for places in decimals]
    client = gateway.client
    await landed(gateway, [client.initialize_exchange(admin.pubkey(), authority.pubkey(), mints, ESCAPE_TIMEOUT_SECONDS)]
                 + [client.initialize_token_vault(admin.pubkey(), mint, index) for index, mint in enumerate(mints)],
                 admin)
    return LocalExchange(gateway, admin, authority, mints)
