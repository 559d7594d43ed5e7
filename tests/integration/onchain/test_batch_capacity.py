"""How many accounts one settle_batch transaction carries (1,232-byte limit) and what it costs."""

import hashlib

from solders.message import Message
from solders.transaction import Transaction

from tests.integration.onchain.conftest import USDC

PACKET_DATA_SIZE = 1232
COMPUTE_BUDGET = 200_000


def batch_transaction(market, traders, withdrawals=0, sequence=1):
    """Batch ``sequence`` (default 1, after genesis) where every trader but the first pays 1 unit to the first; first ``withdrawals`` withdraw."""
    client = market.chain.client
    deltas = [(traders[0].user_account, USDC, len(traders) - 1)] + [(t.user_account, USDC, -1) for t in traders[1:]]
    vault = client.vault_address(market.usdc)
    payouts = [(t.user_account, USDC, 1, vault, t.usdc_wallet) for t in traders[1:1 + withdrawals]]
    previous = bytes(32) if sequence == 1 else hashlib.sha256(str(sequence - 1).encode()).digest()
    instruction = client.settle_batch(market.authority.pubkey(), sequence, previous,
                                      hashlib.sha256(str(sequence).encode()).digest(), deltas, payouts)
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


def test_with_a_lookup_table_a_batch_carries_about_four_times_more(market):
    from solders.address_lookup_table_account import AddressLookupTableAccount
    from solders.message import MessageV0
    from solders.transaction import VersionedTransaction

    from onchain.lookup_table import create_lookup_table, extend_lookup_table

    chain, authority = market.chain, market.authority
    traders = [market.alice, market.bob, market.fees, market.insurance] + [market.trader() for _ in range(80)]
    for trader in traders:
        market.deposit(trader, 10)
    # The settler puts the user accounts into its lookup table (the real lookup-table program)
    chain.svm.warp_to_slot(chain.svm.get_clock().slot + 1)
    create, table = create_lookup_table(authority.pubkey(), authority.pubkey(), chain.svm.get_clock().slot - 1)
    assert chain.send(create, authority).ok
    addresses = [t.user_account for t in traders]
    for start in range(0, len(addresses), 20):
        sent = chain.send(extend_lookup_table(table, authority.pubkey(), authority.pubkey(),
                                              addresses[start:start + 20]), authority)
        assert sent.ok, sent.logs
    chain.svm.warp_to_slot(chain.svm.get_clock().slot + 1)
    lookup = AddressLookupTableAccount(table, addresses)

    def v0_transaction(count):
        instruction, _ = batch_transaction(market, traders[:count])
        chain.svm.expire_blockhash()
        message = MessageV0.try_compile(authority.pubkey(), [instruction], [lookup], chain.svm.latest_blockhash())
        return VersionedTransaction(message, [authority])

    # As many one-delta accounts as fit in 1,232 bytes when each costs a 1-byte table index
    count = 2
    while count < len(traders) and len(bytes(v0_transaction(count + 1))) <= PACKET_DATA_SIZE:
        count += 1
    assert count < len(traders), "add traders: the packet limit was not reached"
    transaction = v0_transaction(count)
    result = chain.svm.send_transaction(transaction)
    assert hasattr(result, "logs"), result
    assert chain.decode("UserAccount", traders[0].user_account).balances[USDC] == 10 + count - 1
    print(f"settle_batch v0 + lookup table: {count} accounts in {len(bytes(transaction))} bytes, "
          f"{result.compute_units_consumed()} CU")
