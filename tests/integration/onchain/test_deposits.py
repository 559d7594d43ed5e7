"""deposit_tokens and deposit_native_sol in the real SVM, with the SPL token program doing the moves."""

from onchain.client import NATIVE_MINT
from onchain.interface.spec import ERROR_CODES
from tests.integration.onchain.conftest import SOL, USDC, unsigned, with_account


def test_token_deposit_moves_tokens_into_the_vault_and_credits_the_user(market):
    chain, client, alice = market.chain, market.chain.client, market.alice
    vault = client.vault_address(market.usdc)
    # Alice deposits 250 USDC
    sent = chain.send(client.deposit_tokens(alice.key, alice.usdc_wallet, market.usdc, USDC, 250_000_000),
                      alice.keypair)
    assert sent.ok, sent.logs
    # the tokens moved, her on-chain totals grew
    assert chain.token_balance(vault) == 250_000_000
    assert chain.token_balance(alice.usdc_wallet) == 750_000_000
    user = chain.decode("UserAccount", alice.user_account)
    assert (user.balances[USDC], user.deposited[USDC]) == (250_000_000, 250_000_000)
    # and a Deposited event any Anchor tool can decode was logged
    [event] = client.decode_events(sent.logs)
    assert event.name == "Deposited"
    assert (event.data.owner, event.data.user_account, event.data.amount, event.data.deposited_total) == \
        (alice.key, alice.user_account, 250_000_000, 250_000_000)


def test_native_sol_deposit_is_wrapped_into_the_sol_vault(market):
    chain, client, bob = market.chain, market.chain.client, market.bob
    sent = chain.send(client.deposit_native_sol(bob.key, 2_000_000_000), bob.keypair)
    assert sent.ok, sent.logs
    assert chain.token_balance(client.vault_address(NATIVE_MINT)) == 2_000_000_000
    assert chain.decode("UserAccount", bob.user_account).balances[SOL] == 2_000_000_000
    assert [e.name for e in client.decode_events(sent.logs)] == ["Deposited"]


def test_deposit_hostile_inputs(market):
    chain, client, alice, bob = market.chain, market.chain.client, market.alice, market.bob
    good = client.deposit_tokens(alice.key, alice.usdc_wallet, market.usdc, USDC, 10)
    # a vault of the right mint that is not the exchange's: the "foreign vault"
    foreign_vault = chain.create_token_account(market.usdc, alice.key)
    cases = {
        "VaultAddressMismatch": (with_account(good, 4, foreign_vault), alice.keypair),
        "WrongOwner": (with_account(good, 2, bob.user_account), alice.keypair),
        "OwnerMustSign": (unsigned(good, 0), bob.keypair),
        "ZeroAmount": (client.deposit_tokens(alice.key, alice.usdc_wallet, market.usdc, USDC, 0), alice.keypair),
        "AssetIndexOutOfRange": (client.deposit_tokens(alice.key, alice.usdc_wallet, market.usdc, 3, 1),
                                 alice.keypair),
        "WrongTokenProgram": (with_account(good, 5, market.usdc), alice.keypair),
        "UserAccountInvalid": (with_account(good, 2, alice.usdc_wallet), alice.keypair),
        "ExchangeInvalid": (with_account(good, 1, alice.user_account), alice.keypair),
    }
    for name, (instruction, signer) in cases.items():
        sent = chain.send(instruction, signer)
        assert sent.error_code == ERROR_CODES[name], (name, sent.error, sent.logs[-3:])
    # Bob cannot pull Alice's tokens into his account: the token program refuses the transfer
    theft = client.deposit_tokens(bob.key, alice.usdc_wallet, market.usdc, USDC, 10)
    assert not chain.send(theft, bob.keypair).ok
    assert chain.token_balance(alice.usdc_wallet) == 1_000_000_000


def test_native_sol_deposit_needs_a_wrapped_sol_asset(chain):
    admin, user = chain.funded_keypair(), chain.funded_keypair()
    usdc = chain.create_mint()
    client = chain.client
    assert chain.send([client.initialize_exchange(admin.pubkey(), admin.pubkey(), [usdc], 60),
                       client.initialize_token_vault(admin.pubkey(), usdc, USDC)], admin).ok
    assert chain.send(client.create_user_account(user.pubkey()), user).ok
    sent = chain.send(client.deposit_native_sol(user.pubkey(), 1_000), user)
    assert sent.error_code == ERROR_CODES["NotNativeMint"]
