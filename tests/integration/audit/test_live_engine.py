"""Against the real engine: bots trade over NATS, then a replay of the store (chain verified,
command receipts included) reaches exactly the state hash the live engine reports."""

import asyncio
import json

import typer
from solders.keypair import Keypair
from typer.testing import CliRunner

from audit.log_source import StoreLog
from audit.replay import Replay
from cli.audit import audit_app
from tests.integration.audit.sessions import a_trading_session, chained_store

qd = typer.Typer()
qd.add_typer(audit_app, name="audit")


async def test_replay_equals_the_live_engine_state_hash(own_nats_url, fresh_pg_dsn):
    # The store is chained before the engine writes; bots trade through the real engine.
    chained_store(fresh_pg_dsn)
    admin = Keypair()
    async with a_trading_session(own_nats_url, fresh_pg_dsn, admin, rounds=5) as live:
        # `qd audit replay --engine` asks the engine itself and agrees with it.
        cli = await asyncio.to_thread(CliRunner().invoke, qd, [
            "audit", "replay", "--pg", fresh_pg_dsn, "--engine", "--nats", own_nats_url, "--json"])
        assert cli.exit_code == 0, cli.output
        assert json.loads(cli.output)["checkpoints"][-1]["state_hash"] == live["state_hash"]
    # The replay of the store, stopped after that command, verifies and matches.
    result = Replay().run(StoreLog(fresh_pg_dsn).rows(), until_command_seq=live["position"])
    assert result.ok, result.chain_break or result.failure
    assert result.checkpoints[-1].state_hash == live["state_hash"]
    assert result.events > result.applied  # command receipts are chained but not domain state
