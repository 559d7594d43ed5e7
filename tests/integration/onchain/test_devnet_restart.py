"""The `make run` devnet is durable: stop it, start it again, and the same chain is back.

A real devnet process (LiteSVM behind our JSON-RPC server) with a state directory: a user is
funded by the faucet and deposits, the settlement authority settles a batch that moves part of
the deposit, the devnet stops; a new process replays its journal, and the exchange's sequence
and log hash, the user's settled balance, the vault and the signature history are as before —
and the next batch (sequence 2) lands.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import httpx
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from client.keys import load_or_create_keypair
from examples.onchain_funding import request_from_faucet
from onchain.devnet.__main__ import POOL_FLOAT_USDC
from onchain.gateway import ChainGateway
from onchain.local_setup import landed
from onchain.rpc.failover import FailoverRpc


def start_devnet(state_dir) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "onchain.devnet", "--port", "0"],
                               env={"PATH": "/usr/bin:/bin", "QD_STATE_DIR": str(state_dir)},
                               stdout=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("devnet ready at "):
            return process, line.split()[3].rstrip(":")
    raise AssertionError(f"the devnet did not start (exit {process.wait()})")


def stop_devnet(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0


async def chain_facts(gateway: ChainGateway, owner, vault_address) -> dict:
    state = await gateway.exchange_state()
    user = await gateway.user_account(owner, 0)
    vault = int.from_bytes((await gateway.account_data(vault_address))[64:72], "little")  # SPL amount
    history = await gateway.program_signatures(until=None)
    return {"sequence": state.last_sequence, "log_hash": state.log_hash, "balances": list(user.balances),
            "vault": vault, "history": history}


async def test_a_restarted_devnet_resumes_the_same_chain(tmp_path):
    # A first devnet initializes the exchange (USDC mint, vault) in a fresh state directory.
    process, url = start_devnet(tmp_path)
    description = json.loads((tmp_path / "onchain-devnet.json").read_text())
    authority = load_or_create_keypair(tmp_path / "settler-authority.json")
    gateway = ChainGateway(FailoverRpc([url]))
    client = gateway.client
    try:
        mint = (await gateway.exchange_state()).mints[0]
        vault = client.vault_address(mint)
        # A trader gets SOL and 500 USDC from the faucet and deposits 400 of them itself.
        trader = Keypair()
        wallet = (await request_from_faucet(url, trader.pubkey(), mint, 500_000_000))["wallet"]
        await landed(gateway, [client.create_user_account(trader.pubkey(), 0),
                               client.deposit_tokens(trader.pubkey(), Pubkey.from_string(wallet), mint, 0,
                                                     400_000_000, 0)], trader)
        # The settlement authority settles batch 1: 25 USDC from the trader to its fee account.
        await landed(gateway, [client.create_user_account(authority.pubkey(), 0)], authority)
        trader_account = client.user_account_address(trader.pubkey(), 0)
        fee_account = client.user_account_address(authority.pubkey(), 0)
        await landed(gateway, [client.settle_batch(authority.pubkey(), 1, bytes(32), b"\x01" * 32,
                                                   [(fee_account, 0, 25_000_000), (trader_account, 0, -25_000_000)])],
                     authority)
        before = await chain_facts(gateway, trader.pubkey(), vault)
        assert before["sequence"] == 1 and before["vault"] == POOL_FLOAT_USDC + 400_000_000
        assert before["balances"][0] == 375_000_000
    finally:
        await gateway.rpc.close()
        stop_devnet(process)

    # A second devnet on the same state directory replays the journal: the same chain is back.
    process, url = start_devnet(tmp_path)
    gateway = ChainGateway(FailoverRpc([url]))
    try:
        assert json.loads((tmp_path / "onchain-devnet.json").read_text())["mints"] == description["mints"]
        assert await chain_facts(gateway, trader.pubkey(), vault) == before
        # ... and it goes on: batch 2 lands on top of batch 1, and the faucet still works.
        await landed(gateway, [gateway.client.settle_batch(authority.pubkey(), 2, b"\x01" * 32, b"\x02" * 32,
                                                           [(trader_account, 0, 5_000_000),
                                                            (fee_account, 0, -5_000_000)])], authority)
        assert (await gateway.exchange_state()).last_sequence == 2
        assert (await gateway.user_account(trader.pubkey(), 0)).balances[0] == 380_000_000
        await request_from_faucet(url, Keypair().pubkey(), mint, 1)
    finally:
        await gateway.rpc.close()
        stop_devnet(process)


async def test_the_faucet_is_refused_by_a_plain_rpc_server():
    # The production-shaped local server has no faucet: only the devnet mints dev money.
    process = subprocess.Popen([sys.executable, "-m", "onchain.rpc.local_server", "--port", "0"],
                               stdout=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{process.stdout.readline().strip().split('=')[1]}"
        answer = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "qdFaucet", "params": []}).json()
        assert answer["error"]["code"] == -32601
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_torn_last_journal_line_is_ignored_and_a_diverging_replay_is_refused(tmp_path):
    from onchain.devnet.journal import JournaledRpcMethods, ReplayDiverged
    from onchain.rpc.local_server import build_svm

    # An airdrop is journaled; a crash mid-write leaves half a line after it.
    journal = tmp_path / "journal.jsonl"
    first = JournaledRpcMethods(build_svm(), journal)
    first.replay()
    key = Keypair().pubkey()
    first.rpc_requestAirdrop(str(key), 5_000)
    first.close()
    with open(journal, "a") as file:
        file.write('{"kind": "transac')
    # The replay restores the airdrop and ignores the torn line (it was never acknowledged).
    second = JournaledRpcMethods(build_svm(), journal)
    assert second.replay() == 1
    assert second.svm.get_balance(key) == 5_000
    second.close()
    # A journaled transaction that fails on replay although it landed before stops the devnet.
    lines = journal.read_text().splitlines()[:1]
    lines.append(json.dumps({"kind": "transaction", "raw": _garbage_transfer(), "slot": 0, "unix_timestamp": 0,
                             "block_time": 0, "landed": True}))
    journal.write_text("\n".join(lines) + "\n")
    with pytest.raises(ReplayDiverged):
        JournaledRpcMethods(build_svm(), journal).replay()


def _garbage_transfer() -> str:
    """A signed transfer from an empty account (fails: no funds), base64."""
    import base64

    from solders.hash import Hash
    from solders.message import Message
    from solders.system_program import TransferParams, transfer
    from solders.transaction import Transaction

    payer = Keypair()
    instruction = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=1))
    return base64.b64encode(bytes(Transaction([payer], Message([instruction], payer.pubkey()), Hash.default()))).decode()
