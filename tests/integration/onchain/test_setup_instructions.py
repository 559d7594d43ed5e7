"""initialize_exchange, initialize_token_vault and create_user_account in the real SVM."""

from solders.keypair import Keypair

from onchain.client import NATIVE_MINT, TOKEN_PROGRAM_ID
from onchain.interface.spec import ERROR_CODES
from tests.integration.onchain.conftest import ESCAPE_TIMEOUT, START_TIME, USDC, unsigned, with_account


def test_admin_sets_up_an_exchange_with_vaults(chain):
    admin, authority = chain.funded_keypair(), chain.funded_keypair()
    usdc = chain.create_mint()
    client = chain.client
    # The admin creates the exchange with one supported mint
    sent = chain.send(client.initialize_exchange(admin.pubkey(), authority.pubkey(), [usdc], ESCAPE_TIMEOUT), admin)
    assert sent.ok, sent.logs
    exchange = chain.decode("Exchange", client.exchange_address())
    assert (exchange.admin, exchange.settlement_authority) == (admin.pubkey(), authority.pubkey())
    assert exchange.mint_count == 1 and exchange.mints[0] == usdc
    assert (exchange.last_sequence, exchange.last_settled_at, exchange.frozen) == (0, START_TIME, 0)
    # then the vault: an SPL token account at the PDA, owned by the vault authority PDA
    assert chain.send(client.initialize_token_vault(admin.pubkey(), usdc, USDC), admin).ok
    vault = chain.svm.get_account(client.vault_address(usdc))
    assert vault.owner == TOKEN_PROGRAM_ID
    assert bytes(vault.data)[32:64] == bytes(client.vault_authority_address())
    assert chain.decode("Exchange", client.exchange_address()).vaults[0] == client.vault_address(usdc)
    # and a second exchange or a second vault for the same asset is refused
    again = chain.send(client.initialize_exchange(admin.pubkey(), authority.pubkey(), [usdc], 5), admin)
    assert again.error_code == ERROR_CODES["ExchangeAlreadyInitialized"]
    assert chain.send(client.initialize_token_vault(admin.pubkey(), usdc, USDC), admin).error_code == \
        ERROR_CODES["VaultAlreadyInitialized"]


def test_initialize_exchange_hostile_inputs(chain):
    admin, payer = chain.funded_keypair(), chain.funded_keypair()
    usdc = chain.create_mint()
    client = chain.client
    good = client.initialize_exchange(admin.pubkey(), admin.pubkey(), [usdc], ESCAPE_TIMEOUT)
    cases = {
        "AdminMustSign": (unsigned(good, 0), payer),
        "ExchangeAddressMismatch": (with_account(good, 2, Keypair().pubkey()), admin),
        "VaultAuthorityMismatch": (with_account(good, 3, Keypair().pubkey()), admin),
        "WrongSystemProgram": (with_account(good, 4, TOKEN_PROGRAM_ID), admin),
        "InvalidTimeout": (client.initialize_exchange(admin.pubkey(), admin.pubkey(), [usdc], 0), admin),
        "InvalidMintList": (client.initialize_exchange(admin.pubkey(), admin.pubkey(), [usdc] * 5, 60), admin),
    }
    cases_repeated = {
        "InvalidMintList": (client.initialize_exchange(admin.pubkey(), admin.pubkey(), [usdc, usdc], 60), admin),
    }
    for name, (instruction, signer) in [*cases.items(), *cases_repeated.items()]:
        assert chain.send(instruction, signer).error_code == ERROR_CODES[name], name


def test_initialize_token_vault_hostile_inputs(chain):
    admin, stranger = chain.funded_keypair(), chain.funded_keypair()
    usdc, other_mint = chain.create_mint(), chain.create_mint()
    client = chain.client
    assert chain.send(client.initialize_exchange(admin.pubkey(), admin.pubkey(), [usdc], 60), admin).ok
    good = client.initialize_token_vault(admin.pubkey(), usdc, USDC)
    cases = {
        "WrongAdmin": (client.initialize_token_vault(stranger.pubkey(), usdc, USDC), stranger),
        "AdminMustSign": (unsigned(good, 0), stranger),
        "MintMismatch": (client.initialize_token_vault(admin.pubkey(), other_mint, USDC), admin),
        "AssetIndexOutOfRange": (client.initialize_token_vault(admin.pubkey(), usdc, 1), admin),
        "VaultAddressMismatch": (with_account(good, 3, client.vault_address(other_mint)), admin),
        "WrongTokenProgram": (with_account(good, 5, NATIVE_MINT), admin),
    }
    for name, (instruction, signer) in cases.items():
        assert chain.send(instruction, signer).error_code == ERROR_CODES[name], name


def test_user_account_is_a_pda_per_owner_and_sub_account(market):
    chain, client = market.chain, market.chain.client
    carol = chain.funded_keypair()
    # Carol opens sub-accounts 0 and 7
    assert chain.send([client.create_user_account(carol.pubkey(), 0), client.create_user_account(carol.pubkey(), 7)],
                      carol).ok
    user = chain.decode("UserAccount", client.user_account_address(carol.pubkey(), 7))
    assert (user.owner, user.sub_account, list(user.balances)) == (carol.pubkey(), 7, [0, 0, 0, 0])
    # but not twice, not at someone else's address, not without signing
    assert chain.send(client.create_user_account(carol.pubkey(), 0), carol).error_code == \
        ERROR_CODES["UserAccountAlreadyExists"]
    forged = with_account(client.create_user_account(carol.pubkey(), 1), 2,
                          client.user_account_address(market.alice.key, 1))
    assert chain.send(forged, carol).error_code == ERROR_CODES["UserAccountAddressMismatch"]
    assert chain.send(unsigned(client.create_user_account(carol.pubkey(), 2), 0), market.admin).error_code == \
        ERROR_CODES["OwnerMustSign"]
