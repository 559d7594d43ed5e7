"""`qd audit settlements` over a real loop: engine, relay, settler, LiteSVM behind the local
JSON-RPC server, PostgreSQL and nats-server (the fixtures of the on-chain loop test). Two batches
settle and agree with the log; one event's amount changed in the store is named by its batch."""

from __future__ import annotations

import asyncio
import json

import msgspec
import psycopg
from typer.testing import CliRunner

from audit.settlements import audit_settlements
from bus.event_store import EVENTS_TABLE
from cli.audit import audit_app
from onchain.settler.service import Settler
from tests.integration.onchain.loop_stack import USDC
from tests.integration.onchain.settlement_loop_helpers import (
    eventually,
    funded_traders,
    sequence_is,
    settler_running,
    started_settler,
    trade,
)
from tests.integration.onchain.test_settlement_loop import loop_nats_url, stack  # noqa: F401 (fixtures)


async def settle_until(stack, sequence: int) -> Settler:
    """Run a settler until the chain's last batch is ``sequence``."""
    settler = await started_settler(stack)
    async with settler_running(settler):
        await eventually(lambda: sequence_is(stack, sequence))
    return settler


def run_cli(stack, *extra: str):
    command = ["settlements", "--pg", stack.pg_dsn, "--rpc", stack.rpc_url, "--assets", "USDC", *extra]
    return CliRunner().invoke(audit_app, command)


async def test_settlement_batches_agree_with_the_log_until_an_event_is_changed(stack):
    # Alice and Bob deposit, trade, Alice withdraws: the settler lands batch 1.
    alice, bob = await funded_traders(stack)
    await trade(stack, alice, bob, 100)
    assert (await alice.bot.request_withdrawal("USDC", 50 * USDC)).accepted
    await settle_until(stack, 1)
    # They trade again: batch 2.
    await trade(stack, bob, alice, 110)
    second = await settle_until(stack, 2)
    batch_two = second.settled_batches[-1]

    # The audit reads both batches from the chain and finds each equal to what the log implies.
    report = await audit_settlements(stack.pg_dsn, [stack.rpc_url], ("USDC",))
    assert [batch.sequence for batch in report.batches] == [1, 2], report
    assert report.ok, report.first_failure
    assert report.batches[0].withdrawals == 1 and report.batches[0].deltas >= 3
    agreed = await asyncio.to_thread(run_cli, stack)
    assert agreed.exit_code == 0, agreed.output
    assert "all 2 settlement batches agree with the log" in agreed.output
    as_json = json.loads((await asyncio.to_thread(run_cli, stack, "--json")).output.splitlines()[0])
    assert as_json["ok"] and [b["sequence"] for b in as_json["batches"]] == [1, 2]

    # Someone changes one fee of a trade of batch 2 in the store.
    with psycopg.connect(stack.pg_dsn, autocommit=True) as conn:
        position, state = conn.execute(
            f"SELECT notification_id, state FROM {EVENTS_TABLE} WHERE topic LIKE %s AND notification_id"
            " BETWEEN %s AND %s ORDER BY notification_id LIMIT 1",
            ("%Account.TradeSettled", batch_two.first_position, batch_two.last_position)).fetchone()
        event = msgspec.json.decode(state)
        event["settlements"][0]["fees"] = int(event["settlements"][0]["fees"]) + 1
        conn.execute(f"UPDATE {EVENTS_TABLE} SET state = %s WHERE notification_id = %s",
                     (msgspec.json.encode(event), position))

    # The audit names batch 2: its log hash no longer recomputes and its deltas differ; batch 1
    # still agrees.
    report = await audit_settlements(stack.pg_dsn, [stack.rpc_url], ("USDC",))
    assert report.batches[0].ok and report.first_failure.sequence == 2
    problems = " | ".join(report.first_failure.problems)
    assert f"log hash cannot be recomputed at position {batch_two.last_position}" in problems
    assert f"position {position}" in problems and "deltas differ" in problems
    differed = await asyncio.to_thread(run_cli, stack)
    assert differed.exit_code == 1, differed.output
    assert "batch 2 DIFFERS" in differed.output and "deltas differ" in differed.output

    # The log's record of batch 1 is changed too (another transaction named as its chain_tx):
    # batch 1 is now the first to differ, and the report says it is the record that disagrees.
    with psycopg.connect(stack.pg_dsn, autocommit=True) as conn:
        position, state = conn.execute(
            f"SELECT notification_id, state FROM {EVENTS_TABLE} WHERE topic LIKE %s ORDER BY notification_id"
            " LIMIT 1", ("%Settlement.BatchSettled",)).fetchone()
        record = msgspec.json.decode(state)
        record["chain_tx"] = report.batches[1].signature
        conn.execute(f"UPDATE {EVENTS_TABLE} SET state = %s WHERE notification_id = %s",
                     (msgspec.json.encode(record), position))
    report = await audit_settlements(stack.pg_dsn, [stack.rpc_url], ("USDC",))
    assert report.first_failure.sequence == 1
    assert any(problem.startswith("BatchSettled chain_tx") for problem in report.first_failure.problems)


def test_sequence_gaps_and_broken_hash_links_are_named():
    # The program refuses both, so they are shown on forged chain batches (pure check).
    from audit.settlement_chain import ChainBatch
    from audit.settlements import BatchCheck, _check_sequence

    def batch(sequence: int, previous: bytes, log_hash: bytes) -> ChainBatch:
        return ChainBatch("sig", 1, "authority", sequence, previous, log_hash, (), ())

    first, third = batch(1, bytes(32), b"\x01" * 32), batch(3, b"\x02" * 32, b"\x03" * 32)
    checks = [BatchCheck(b.sequence, "sig", None, b.log_hash.hex(), 0, 0) for b in (first, third)]
    _check_sequence(checks[0], first, 0, bytes(32))
    _check_sequence(checks[1], third, 1, first.log_hash)
    assert checks[0].ok
    assert checks[1].problems == [
        "sequence 3 where 2 was due (gap or repeat)",
        f"previous_hash {'02' * 32} is not the previous batch's log hash {'01' * 32}"]
