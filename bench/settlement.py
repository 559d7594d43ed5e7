"""``python -m bench.settlement``: the on-chain half of settlement in the real SVM (LiteSVM).

Settles full batches (as many accounts as fit one 1,232-byte transaction, one delta each) and
reports accounts settled per second, accounts per transaction and compute units per account.
``limit`` is the raw ceiling of the same path measured in the same run: the same SVM executing
minimal transactions (one system transfer each) times accounts per batch, i.e. the rate if a
settle transaction cost no more than the cheapest transaction.
Not yet end to end: the settler (events stream → batches) is a later session's work.
"""

import hashlib
import statistics
import time

from solders.keypair import Keypair
from solders.system_program import TransferParams, transfer

from bench.report import emit
from onchain.local_chain import Chain

ACCOUNTS_PER_BATCH = 20  # measured by tests/integration/onchain/test_batch_capacity.py
BATCHES = 60
USDC = 0


def setup(chain: Chain):
    admin, authority = chain.funded_keypair(), chain.funded_keypair()
    usdc = chain.create_mint()
    client = chain.client
    assert chain.send([client.initialize_exchange(admin.pubkey(), authority.pubkey(), [usdc], 86_400),
                       client.initialize_token_vault(admin.pubkey(), usdc, USDC)], admin).ok
    users = []
    for _ in range(ACCOUNTS_PER_BATCH):
        owner = chain.funded_keypair()
        wallet = chain.create_token_account(usdc, owner.pubkey(), 10**12)
        assert chain.send([client.create_user_account(owner.pubkey()),
                           client.deposit_tokens(owner.pubkey(), wallet, usdc, USDC, 10**9)], owner).ok
        users.append(client.user_account_address(owner.pubkey()))
    return authority, users


def main() -> None:
    chain = Chain()
    authority, users = setup(chain)
    client = chain.client
    previous = bytes(32)
    latencies, compute_units = [], []
    for sequence in range(1, BATCHES + 1):
        log_hash = hashlib.sha256(previous + sequence.to_bytes(8, "little")).digest()
        winner = users[sequence % len(users)]
        deltas = [(winner, USDC, len(users) - 1)] + [(u, USDC, -1) for u in users if u != winner]
        instruction = client.settle_batch(authority.pubkey(), sequence, previous, log_hash, deltas)
        started = time.perf_counter()
        sent = chain.send(instruction, authority)
        latencies.append(time.perf_counter() - started)
        assert sent.ok, sent.logs
        compute_units.append(sent.compute_units)
        previous = log_hash
    payer = chain.funded_keypair()
    raw = []
    for _ in range(BATCHES):
        started = time.perf_counter()
        assert chain.send(transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(),
                                                  lamports=1_000_000)), payer).ok
        raw.append(time.perf_counter() - started)
    per_second = ACCOUNTS_PER_BATCH / statistics.median(latencies)
    ceiling = ACCOUNTS_PER_BATCH / statistics.median(raw)
    latencies.sort()
    emit(bench="settlement", value=round(per_second, 1), unit="accounts/s", limit=round(ceiling, 1),
         accounts_per_transaction=ACCOUNTS_PER_BATCH, compute_units_per_batch=statistics.median(compute_units),
         compute_units_per_account=round(statistics.median(compute_units) / ACCOUNTS_PER_BATCH, 1),
         p50_ms=round(latencies[len(latencies) // 2] * 1000, 3), p99_ms=round(latencies[-1] * 1000, 3),
         scope="on-chain only (LiteSVM); settler not yet written")


if __name__ == "__main__":
    main()
