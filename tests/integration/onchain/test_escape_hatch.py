"""escape_withdraw in the real SVM: closed while batches flow, open after the timeout, then frozen."""

from onchain.interface.spec import ERROR_CODES
from tests.integration.onchain.conftest import ESCAPE_TIMEOUT, START_TIME, USDC, with_account


def test_escape_hatch_opens_after_the_timeout_and_freezes_the_exchange(market):
    chain, client, alice, bob = market.chain, market.chain.client, market.alice, market.bob
    market.deposit(alice, 300_000_000)
    market.deposit(bob, 200_000_000)
    vault = client.vault_address(market.usdc)
    escape = client.escape_withdraw(alice.key, market.usdc, USDC, alice.usdc_wallet)
    # One second before the timeout the hatch is shut
    chain.set_unix_time(START_TIME + ESCAPE_TIMEOUT - 1)
    assert chain.send(escape, alice.keypair).error_code == ERROR_CODES["EscapeHatchNotOpen"]
    # At the timeout Alice takes her last settled balance, and the exchange freezes
    chain.set_unix_time(START_TIME + ESCAPE_TIMEOUT)
    sent = chain.send(escape, alice.keypair)
    assert sent.ok, sent.logs
    assert chain.token_balance(alice.usdc_wallet) == 1_000_000_000
    assert chain.token_balance(vault) == 200_000_000
    assert chain.decode("Exchange", client.exchange_address()).frozen == 1
    assert [e.name for e in client.decode_events(sent.logs)] == ["EscapeWithdrawn"]
    # Frozen: no more batches or deposits; Bob can still leave; Alice cannot take twice
    batch = client.settle_batch(market.authority.pubkey(), 1, bytes(32), bytes(32), [])
    assert chain.send(batch, market.authority).error_code == ERROR_CODES["ExchangeFrozen"]
    deposit = client.deposit_tokens(bob.key, bob.usdc_wallet, market.usdc, USDC, 1)
    assert chain.send(deposit, bob.keypair).error_code == ERROR_CODES["ExchangeFrozen"]
    assert chain.send(escape, alice.keypair).error_code == ERROR_CODES["NothingToWithdraw"]
    assert chain.send(client.escape_withdraw(bob.key, market.usdc, USDC, bob.usdc_wallet), bob.keypair).ok
    assert chain.token_balance(vault) == 0


def test_a_settled_batch_resets_the_escape_clock(market):
    chain, client, alice = market.chain, market.chain.client, market.alice
    market.deposit(alice, 1_000)
    chain.set_unix_time(START_TIME + ESCAPE_TIMEOUT - 10)
    assert chain.send(client.settle_batch(market.authority.pubkey(), 1, bytes(32), bytes(32), []), market.authority).ok
    chain.set_unix_time(START_TIME + ESCAPE_TIMEOUT + 10)
    escape = client.escape_withdraw(alice.key, market.usdc, USDC, alice.usdc_wallet)
    assert chain.send(escape, alice.keypair).error_code == ERROR_CODES["EscapeHatchNotOpen"]


def test_escape_hostile_inputs(market):
    chain, client, alice, bob = market.chain, market.chain.client, market.alice, market.bob
    market.deposit(alice, 1_000)
    chain.set_unix_time(START_TIME + ESCAPE_TIMEOUT)
    good = client.escape_withdraw(alice.key, market.usdc, USDC, alice.usdc_wallet)
    cases = {
        "WrongOwner": (with_account(good, 2, bob.user_account), alice.keypair),
        "DestinationInvalid": (with_account(good, 4, bob.usdc_wallet), alice.keypair),
        "VaultAuthorityMismatch": (with_account(good, 5, alice.key), alice.keypair),
        "VaultAddressMismatch": (with_account(good, 3, chain.create_token_account(market.usdc, alice.key, 5_000)),
                                 alice.keypair),
    }
    for name, (instruction, signer) in cases.items():
        sent = chain.send(instruction, signer)
        assert sent.error_code == ERROR_CODES[name], (name, sent.error, sent.logs[-3:])
    assert chain.decode("Exchange", client.exchange_address()).frozen == 0
