"""The full loop: deposit on chain -> watcher -> engine credits -> trade -> settler batch ->
on-chain balances and log hash match the read model; a settler crash between submit and record
settles once. Real nats-server, PostgreSQL, engine, relay, projector, and the program in LiteSVM
behind the local JSON-RPC server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys

import nats
import psycopg
import pytest
from solana.rpc.core import RPCException
from solders.keypair import Keypair
from typer.testing import CliRunner

from bus import streams
from bus.event_store import EVENTS_TABLE
from client.bot_client import BotClient
from client.keys import save_keypair
from onchain import cli as onchain_cli
from onchain import local_setup
from onchain.interface.spec import ERROR_CODES
from onchain.reconcile import connect, reconcile
from onchain.settler import log_chain
from onchain.settler.batch import associated_token_address
from onchain.settler.service import CRASH_AFTER_SUBMIT
from tests.integration.onchain.loop_stack import USDC, running_stack
from tests.integration.onchain.rpc_servers import local_rpc_servers
from tests.integration.onchain.settlement_loop_helpers import (
    chain_balance,
    equals,
    eventually,
    funded_traders,
    paid_out,
    poll_watcher_once,
    sequence_is,
    settlement_events,
    settler_running,
    started_settler,
    trade,
)


@pytest.fixture(scope="module")
def loop_nats_url(module_nats_url) -> str:
    """A nats-server of this module's own (stream and consumer names are global)."""
    return module_nats_url


@pytest.fixture
async def stack(loop_nats_url, fresh_pg_dsn, tmp_path):
    connection = await nats.connect(loop_nats_url)
    for name in (streams.COMMANDS_STREAM, streams.EVENTS_STREAM):
        with contextlib.suppress(Exception):
            await connection.jetstream().delete_stream(name)
    await streams.declare(connection.jetstream(), consumers=())  # before the first command is published
    await connection.close()
    with local_rpc_servers(1) as [(rpc_url, _process)]:
        async with running_stack(loop_nats_url, fresh_pg_dsn, rpc_url, tmp_path) as running:
            yield running


async def test_deposit_trade_settle_and_reconcile(stack):
    # Alice and Bob deposit on chain; the watcher turns each deposit into one Deposit command.
    alice, bob = await funded_traders(stack)

    # A watcher that lost its cursor re-reads the chain: the engine answers the same deposits as
    # duplicates, nothing is credited twice.
    (stack.tmp_path / "cursor.json").unlink()
    assert await poll_watcher_once(stack.watcher()) == 2

    # They trade twice: Alice buys 1 SOL at 100 from Bob, then sells it back to him at 110.
    await trade(stack, alice, bob, 100)
    await trade(stack, bob, alice, 110)
    # Alice asks for 100 USDC back.
    withdrawal = await alice.bot.request_withdrawal("USDC", 100 * USDC)
    assert withdrawal.accepted, withdrawal

    # The settler nets PnL, fees and the withdrawal and settles them on chain.
    settler = await started_settler(stack)
    async with settler_running(settler):
        # Alice: 900 - 0.05 (taker fee at 100) + 10 (PnL) - 0.022 (maker fee at 110) - 100;
        # Bob: 900 - 0.02 (maker fee at 100) - 10 - 0.055 (taker fee at 110).
        alice_expected, bob_expected = 809_928_000, 889_925_000
        await eventually(lambda: paid_out(settler))
        assert (await chain_balance(stack, alice), await chain_balance(stack, bob)) == (alice_expected, bob_expected)

    # The log records the batches as settled, and Alice's withdrawal as completed by the settler.
    assert settlement_events(stack)[-1] == "BatchSettled"
    assert stack.sql(f"SELECT count(*) FROM {EVENTS_TABLE} WHERE topic LIKE %s", "%Account.Withdrawn") == [(1,)]
    # The withdrawal left the vault to Alice's wallet (100 left after depositing 900, +100).
    wallet = await stack.gateway.account_data(alice.wallet)
    assert int.from_bytes(wallet[64:72], "little") == 200 * USDC  # SPL token account: amount at 64
    # The fee account holds the four fees; the pool took nothing (the PnL netted out).
    fee_account = await stack.gateway.user_account(stack.exchange.authority.pubkey(), 0)
    pool = await stack.gateway.user_account(stack.exchange.authority.pubkey(), 1)
    assert int(fee_account.balances[0]) == 147_000 and int(pool.balances[0]) == 0

    # The chain's log hash is the audit chain's head at the last settled position.
    state = await stack.gateway.exchange_state()
    assert state.last_sequence == len(settler.settled_batches) >= 1
    with psycopg.connect(stack.pg_dsn, autocommit=True) as conn:
        assert state.log_hash == log_chain.hash_at(conn, settler.position)
        assert log_chain.position_of(conn, state.log_hash) == settler.position

    # Reconciliation: every on-chain balance equals the read model's at that position.
    await stack.wait_for_read_model(settler.position)
    conn = connect(stack.pg_dsn)
    try:
        report = await reconcile(stack.gateway, conn, ("USDC",))
    finally:
        conn.close()
    assert report.position == settler.position
    assert {check.account.split("/")[0] for check in report.checks} >= {alice.owner, bob.owner}
    assert report.divergent == []
    # and so does the CLI (`qd onchain reconcile`)
    command = ["reconcile", "--pg", stack.pg_dsn, "--rpc", stack.rpc_url, "--assets", "USDC"]
    agreed = await asyncio.to_thread(CliRunner().invoke, onchain_cli.app, command)
    assert agreed.exit_code == 0 and "all balances agree" in agreed.output, agreed.output

    # An operator credits Alice 5 USDC that never arrived on chain; once a later batch covers it,
    # reconciliation reports the divergence and exits 1.
    phantom = await stack.operator.deposit_for(alice.owner, "USDC", 5 * USDC)
    assert phantom.accepted, phantom
    await trade(stack, alice, bob, 100)
    settler = await started_settler(stack)
    async with settler_running(settler):
        await eventually(lambda: sequence_is(stack, state.last_sequence + 1))
    await stack.wait_for_read_model(settler.position)
    diverged = await asyncio.to_thread(CliRunner().invoke, onchain_cli.app, command)
    assert diverged.exit_code == 1, diverged.output
    assert f"DIVERGENT {alice.owner}/0 USDC" in diverged.output and "difference -5000000" in diverged.output


async def test_a_crash_between_submit_and_record_settles_once(stack, tmp_path):
    alice, bob = await funded_traders(stack)
    await trade(stack, alice, bob, 100)

    # A settler process that crashes right after its first batch landed, before recording it.
    keyfile = tmp_path / "authority.json"
    save_keypair(stack.exchange.authority, keyfile)
    crashing = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "onchain.settler", "--nats", stack.nats_url, "--pg", stack.pg_dsn,
         "--rpc", stack.rpc_url, "--keypair", str(keyfile), "--assets", "USDC", "--idle-seconds", "0.2"],
        env={**os.environ, CRASH_AFTER_SUBMIT: "1"}, timeout=60, capture_output=True, text=True)
    assert crashing.returncode == 70, crashing.stderr[-2000:]
    assert (await stack.gateway.exchange_state()).last_sequence == 1
    assert settlement_events(stack) == ["Created", "BatchProposed"]  # proposed in the log, not recorded
    after_first = await chain_balance(stack, alice), await chain_balance(stack, bob)
    assert after_first == (900 * USDC - 50_000, 900 * USDC - 20_000)

    # Sending batch 1 again cannot settle it twice: the program refuses the replayed sequence.
    # (the restarted settler sends legacy transactions: both paths are exercised)
    settler = await started_settler(stack, lookup_table=False)
    proposal = settler.record.last_proposal()
    replay = settler.client.settle_batch(stack.exchange.authority.pubkey(), 1, bytes.fromhex(proposal["previous_hash"]),
                                         bytes.fromhex(proposal["log_hash"]), [])
    with pytest.raises(RPCException, match=f"Custom\\({ERROR_CODES['SequenceReplayed']}\\)"):
        await settler.gateway.send([replay], stack.exchange.authority)

    # The restarted settler reconciled: batch 1 is recorded as settled, and it goes on from there.
    assert settlement_events(stack) == ["Created", "BatchProposed", "BatchSettled"]
    assert settler.sequence == 1
    await trade(stack, bob, alice, 110)
    async with settler_running(settler):
        await eventually(lambda: sequence_is(stack, 2))
    # Each trade settled exactly once.
    assert await chain_balance(stack, alice) == 900 * USDC - 50_000 + 10 * USDC - 22_000
    assert await chain_balance(stack, bob) == 900 * USDC - 20_000 - 10 * USDC - 55_000
    assert settlement_events(stack) == ["Created", "BatchProposed", "BatchSettled", "BatchProposed", "BatchSettled"]


async def test_the_watcher_process_credits_each_deposit_once_across_a_kill(stack, tmp_path):
    # Alice deposits twice in one transaction (instruction indexes 0 and 1) and once more later.
    alice = await stack.trader(1_000 * USDC)
    deposit = stack.gateway.client.deposit_tokens
    mint = stack.exchange.mints[0]
    await stack.exchange.gateway.send([deposit(alice.keypair.pubkey(), alice.wallet, mint, 0, 100 * USDC),
                                       deposit(alice.keypair.pubkey(), alice.wallet, mint, 0, 200 * USDC)],
                                      alice.keypair)
    keyfile = tmp_path / "watcher.json"
    save_keypair(stack.watcher_key, keyfile)
    command = [sys.executable, "-m", "onchain.watcher", "--nats", stack.nats_url, "--rpc", stack.rpc_url,
               "--keypair", str(keyfile), "--cursor", str(tmp_path / "cursor.json"), "--assets", "USDC",
               "--poll-seconds", "0.1"]

    async def credited() -> int:
        rows = await asyncio.to_thread(stack.sql, "SELECT amount FROM read.balances WHERE account = %s"
                                       " AND asset = 'USDC'", f"{alice.owner}/0")
        return rows[0][0] if rows else 0

    # The watcher process credits both; it is killed and its cursor thrown away
    watcher = subprocess.Popen(command)
    try:
        await eventually(lambda: equals(credited(), 300 * USDC), timeout=30)
    finally:
        watcher.kill()
        watcher.wait()
    (tmp_path / "cursor.json").unlink()
    # a third deposit; the restarted watcher re-reads everything but credits only the new one
    await stack.exchange.deposit(alice.keypair, alice.wallet, 0, 50 * USDC)
    watcher = subprocess.Popen(command)
    try:
        await eventually(lambda: equals(credited(), 350 * USDC), timeout=30)
        await asyncio.sleep(1.0)  # and nothing more arrives
        assert await credited() == 350 * USDC
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)


async def test_a_withdrawal_to_a_wallet_without_a_token_account_is_paid(stack):
    # Carol's USDC sits in a token account that is not her associated one.
    carol_key = Keypair()
    await local_setup.airdrop(stack.gateway, carol_key.pubkey())
    await local_setup.landed(stack.gateway, [stack.gateway.client.create_user_account(carol_key.pubkey())], carol_key)
    wallet = await local_setup.plain_wallet(stack.gateway, stack.exchange.admin, carol_key.pubkey(),
                                            stack.exchange.mints[0], 100 * USDC)
    await stack.exchange.deposit(carol_key, wallet, 0, 100 * USDC)
    assert await poll_watcher_once(stack.watcher()) == 1
    destination = associated_token_address(carol_key.pubkey(), stack.exchange.mints[0])
    assert await stack.gateway.account_data(destination) is None

    # She withdraws 40: the settler opens her associated token account and pays into it.
    carol = await BotClient.connect(stack.nats_url, carol_key)
    try:
        assert (await carol.request_withdrawal("USDC", 40 * USDC)).accepted
    finally:
        await carol.close()
    settler = await started_settler(stack)
    async with settler_running(settler):
        await eventually(lambda: paid_out(settler))
    paid = await stack.gateway.account_data(destination)
    assert int.from_bytes(paid[64:72], "little") == 40 * USDC
    assert int((await stack.gateway.user_account(carol_key.pubkey(), 0)).balances[0]) == 60 * USDC
