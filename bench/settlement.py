"""``python -m bench.settlement [--accounts N]``: accounts settled per second, end to end and on chain.

``value``: accounts settled per second END TO END — a backlog of N traders' TradeSettled events
in the log (real engine, relay, NATS, PostgreSQL) taken by the settler, netted, cut into batches
and settled through the local JSON-RPC server into the program in LiteSVM (see
``bench.settlement_loop``), timed from the settler being ready (connected and reconciled with the
chain; its start-up is reported as ``settler_startup_seconds``) until the last trader's delta is
on chain; with accounts per transaction and compute units per settled account.
``limit``: the on-chain path alone in the same run — full 20-account settle_batch transactions
executed directly in an in-process LiteSVM (no RPC, no log), accounts per second. The figures of
that path (``onchain_*``) and its own raw ceiling (minimal system transfers × 20,
``onchain_transfer_ceiling``) are reported beside it.
"""

import argparse
import hashlib
import statistics
import time

from solders.keypair import Keypair
from solders.system_program import TransferParams, transfer

from bench import settlement_loop
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


def onchain_only() -> dict:
    """Settle BATCHES full batches straight into LiteSVM; figures of the on-chain path alone."""
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
    latencies.sort()
    return {"accounts_per_second": round(ACCOUNTS_PER_BATCH / statistics.median(latencies), 1),
            "transfer_ceiling": round(ACCOUNTS_PER_BATCH / statistics.median(raw), 1),
            "compute_units_per_batch": statistics.median(compute_units),
            "compute_units_per_account": round(statistics.median(compute_units) / ACCOUNTS_PER_BATCH, 1),
            "p50_ms": round(latencies[len(latencies) // 2] * 1000, 3), "p99_ms": round(latencies[-1] * 1000, 3)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.settlement")
    parser.add_argument("--accounts", type=int, default=160, help="traders in the end-to-end backlog (even)")
    arguments = parser.parse_args(argv)
    chain_only = onchain_only()
    loop = settlement_loop.run(arguments.accounts)
    per_second = round(loop["accounts"] / (loop["seconds"] - loop["startup_seconds"]), 1)
    emit(bench="settlement", value=per_second, unit="accounts/s", limit=chain_only["accounts_per_second"],
         accounts=loop["accounts"], seconds=round(loop["seconds"], 3),
         settler_startup_seconds=round(loop["startup_seconds"], 3),
         including_startup_accounts_per_second=round(loop["accounts"] / loop["seconds"], 1),
         transactions=loop["transactions"],
         accounts_per_transaction=loop["accounts_per_transaction"],
         entries_per_transaction=loop["entries_per_transaction"],
         compute_units_per_account=loop["compute_units_per_account"],
         trade_to_chain_p50_ms=loop["trade_to_chain_p50_ms"], trade_to_chain_max_ms=loop["trade_to_chain_max_ms"],
         onchain_accounts_per_transaction=ACCOUNTS_PER_BATCH,
         onchain_compute_units_per_batch=chain_only["compute_units_per_batch"],
         onchain_compute_units_per_account=chain_only["compute_units_per_account"],
         onchain_transfer_ceiling=chain_only["transfer_ceiling"],
         onchain_p50_ms=chain_only["p50_ms"], onchain_p99_ms=chain_only["p99_ms"],
         scope="end to end: log backlog -> settler -> RPC -> program (LiteSVM); limit = on-chain path alone")


if __name__ == "__main__":
    main()
