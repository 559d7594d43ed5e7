"""settle_batch in the real SVM: exactly-once sequencing, zero-sum deltas, PDA-signed withdrawals."""

import hashlib

from onchain.interface.spec import ERROR_CODES
from tests.integration.onchain.conftest import USDC, unsigned

ZERO_HASH = bytes(32)


def log_hash(sequence: int) -> bytes:
    return hashlib.sha256(f"log up to batch {sequence}".encode()).digest()


def funded(market):
    """Alice and Bob each deposit 500 USDC."""
    market.deposit(market.alice, 500_000_000)
    market.deposit(market.bob, 500_000_000)
    return market


def trade_deltas(market, pnl: int = 40_000_000, fee: int = 1_000_000, insurance: int = 500_000):
    """Alice wins ``pnl`` from Bob; both pay fees; a liquidation tops up insurance (sums to zero)."""
    return [(market.alice.user_account, USDC, pnl - fee), (market.bob.user_account, USDC, -pnl - fee - insurance),
            (market.fees.user_account, USDC, 2 * fee), (market.insurance.user_account, USDC, insurance)]


def test_a_batch_settles_balances_hash_and_withdrawal(market):
    chain, client, alice = funded(market).chain, market.chain.client, market.alice
    vault = client.vault_address(market.usdc)
    # The settler submits batch 1: trade results plus Alice's approved withdrawal of 100 USDC
    instruction = client.settle_batch(market.authority.pubkey(), 1, ZERO_HASH, log_hash(1), trade_deltas(market),
                                      [(alice.user_account, USDC, 100_000_000, vault, alice.usdc_wallet)])
    sent = chain.send(instruction, market.authority)
    assert sent.ok, sent.logs
    # balances moved by the deltas, the withdrawal left the vault for Alice's own wallet
    balances = {name: chain.decode("UserAccount", getattr(market, name).user_account).balances[USDC]
                for name in ("alice", "bob", "fees", "insurance")}
    assert balances == {"alice": 439_000_000, "bob": 458_500_000, "fees": 2_000_000, "insurance": 500_000}
    assert chain.token_balance(alice.usdc_wallet) == 600_000_000
    assert chain.token_balance(vault) == 900_000_000 == sum(balances.values())
    # the exchange recorded the sequence and the log hash chain
    exchange = chain.decode("Exchange", client.exchange_address())
    assert (exchange.last_sequence, bytes(exchange.log_hash)) == (1, log_hash(1))
    events = client.decode_events(sent.logs)
    assert [e.name for e in events] == ["Withdrawn", "BatchSettled"]
    assert (events[1].data.sequence, bytes(events[1].data.previous_hash)) == (1, ZERO_HASH)
    # batch 2 chains on batch 1's hash
    second = client.settle_batch(market.authority.pubkey(), 2, log_hash(1), log_hash(2), trade_deltas(market, 1, 0, 0))
    assert chain.send(second, market.authority).ok


def test_sequence_is_exactly_last_plus_one(market):
    chain, client, authority = funded(market).chain, market.chain.client, market.authority
    first = client.settle_batch(authority.pubkey(), 1, ZERO_HASH, log_hash(1), trade_deltas(market))
    assert chain.send(first, authority).ok
    # replaying batch 1 (the settler crashed after submit) changes nothing
    replay = client.settle_batch(authority.pubkey(), 1, ZERO_HASH, log_hash(1), trade_deltas(market))
    assert chain.send(replay, authority).error_code == ERROR_CODES["SequenceReplayed"]
    skipped = client.settle_batch(authority.pubkey(), 3, log_hash(1), log_hash(3), trade_deltas(market))
    assert chain.send(skipped, authority).error_code == ERROR_CODES["SequenceSkipped"]
    forked = client.settle_batch(authority.pubkey(), 2, log_hash(99), log_hash(2), trade_deltas(market))
    assert chain.send(forked, authority).error_code == ERROR_CODES["PreviousHashMismatch"]
    assert chain.decode("UserAccount", market.alice.user_account).balances[USDC] == 539_000_000


def test_settle_batch_hostile_inputs(market):
    chain, client, authority, alice, bob = funded(market).chain, market.chain.client, market.authority, \
        market.alice, market.bob
    vault = client.vault_address(market.usdc)

    def batch(deltas, withdrawals=(), signer=authority):
        return client.settle_batch(signer.pubkey(), 1, ZERO_HASH, log_hash(1), deltas, list(withdrawals))

    stranger_wallet = chain.create_token_account(market.usdc, bob.key)
    foreign_vault = chain.create_token_account(market.usdc, alice.key, 1_000_000_000)
    cases = {
        "WrongAuthority": (batch(trade_deltas(market), signer=alice.keypair), alice.keypair),
        "AuthorityMustSign": (unsigned(batch(trade_deltas(market)), 0), alice.keypair),
        "DeltasDoNotSumToZero": (batch([(alice.user_account, USDC, 5), (bob.user_account, USDC, -4)]), authority),
        "Overdraw": (batch([(alice.user_account, USDC, 600_000_000), (bob.user_account, USDC, -600_000_000)]),
                     authority),
        "AssetIndexOutOfRange": (batch([(alice.user_account, 2, 0)]), authority),
        "UserAccountInvalid": (batch([(alice.usdc_wallet, USDC, 0)]), authority),
        "DestinationInvalid": (batch([], [(alice.user_account, USDC, 1, vault, stranger_wallet)]), authority),
        "VaultAddressMismatch": (batch([], [(alice.user_account, USDC, 1, foreign_vault, alice.usdc_wallet)]),
                                 authority),
    }
    overdraw_withdrawal = batch([], [(alice.user_account, USDC, 500_000_001, vault, alice.usdc_wallet)])
    for name, (instruction, signer) in cases.items():
        sent = chain.send(instruction, signer)
        assert sent.error_code == ERROR_CODES[name], (name, sent.error, sent.logs[-3:])
    assert chain.send(overdraw_withdrawal, authority).error_code == ERROR_CODES["Overdraw"]
    # nothing of the refused batches stuck
    assert chain.decode("Exchange", client.exchange_address()).last_sequence == 0
    assert chain.token_balance(vault) == 1_000_000_000
