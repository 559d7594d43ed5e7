"""How many accounts one settle_batch transaction carries (1,232-byte limit) and what it costs."""

import hashlib

from solders.message import Message
from solders.transaction import Transaction

from tests.integration.onchain.conftest import USDC

PACKET_DATA_SIZE = 1232
COMPUTE_BUDGET = 200_000


def batch_transaction(market, traders, withdrawals=0):
    """Batch 1 where every trader but the first pays 1 unit to the first; first ``withdrawals`` withdraw."""
    client = market.chain.client
    deltas = [(traders[0].user_account, USDC, len(traders) - 1)] + [(t.user_account, USDC, -1) for t in traders[1:]]
    vault = client.vault_address(market.usdc)
    payouts = [(t.user_account, USDC, 1, vault, t.usdc_wallet) for t in traders[1:1 + withdrawals]]
    instruction = client.settle_batch(market.authority.pubkey(), 1, bytes(32), hashlib.sha256(b"1").digest(), deltas,
                                      payouts)
    message = Message([instruction], market.authority.pubkey())
    return instruction, len(bytes(Transaction([market.authority], message, market.chain.svm.latest_blockhash())))


def largest_batch(market, traders, withdrawals=0):
    count = 2
    while count < len(traders) and batch_transaction(market, traders[:count + 1], withdrawals)[1] <= PACKET_DATA_SIZE:
        count += 1
    return count


def test_a_full_transaction_of_deltas_settles_within_the_compute_budget(market):
    traders = [market.alice, market.bob, market.fees, market.insurance] + [market.trader() for _ in range(22)]
    for trader in traders:
        market.deposit(trader, 10)
    # As many accounts as fit in one 1,232-byte legacy transaction
    count = largest_batch(market, traders)
    assert count < len(traders), "add traders: the packet limit was not reached"
    instruction, size = batch_transaction(market, traders[:count])
    assert size <= PACKET_DATA_SIZE
    sent = market.chain.send(instruction, market.authority)
    assert sent.ok, sent.logs
    assert sent.compute_units < COMPUTE_BUDGET
    print(f"settle_batch: {count} accounts in {size} bytes, {sent.compute_units} CU")


def test_withdrawals_fit_too(market):
    traders = [market.alice, market.bob, market.fees, market.insurance] + [market.trader() for _ in range(12)]
    for trader in traders:
        market.deposit(trader, 10)
    count = largest_batch(market, traders, withdrawals=len(traders))
    withdrawals = count - 1
    instruction, size = batch_transaction(market, traders[:count], withdrawals)
    sent = market.chain.send(instruction, market.authority)
    assert sent.ok, sent.logs
    print(f"settle_batch: {count} accounts, {withdrawals} withdrawals in {size} bytes, {sent.compute_units} CU")
