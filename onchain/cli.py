"""`qd onchain ...`: the on-chain operator commands (a typer sub-app the lead mounts).

    qd onchain reconcile --pg DSN --rpc URL[,URL] [--assets USDC,SOL]

Exit code 0 when every balance agrees, 1 on divergence (each divergent line is printed and
logged at ERROR, for alerting), 2 when the read model has not caught up with the last batch.
"""

from __future__ import annotations

import asyncio
import logging
import os

import typer

from onchain.assets import parse_symbols
from onchain.gateway import ChainGateway
from onchain.reconcile import NotCaughtUp, connect, reconcile
from onchain.rpc.failover import FailoverRpc

app = typer.Typer(help="On-chain settlement: reconciliation.", no_args_is_help=True)
log = logging.getLogger("onchain.reconcile")

PG_OPTION = typer.Option(os.environ.get("QD_PG_DSN", ""), "--pg", help="event store + read models (conninfo)")
RPC_OPTION = typer.Option(os.environ.get("QD_RPC_URLS", "http://127.0.0.1:8899"), "--rpc", help="RPC URLs, comma-separated")
ASSETS_OPTION = typer.Option(os.environ.get("QD_ONCHAIN_ASSETS", "USDC"), "--assets", help="symbols by asset index")


async def run_reconcile(pg: str, rpc_urls: list[str], assets: tuple[str, ...]):
    """The reconciliation report (for callers other than the CLI)."""
    rpc = FailoverRpc(rpc_urls)
    conn = connect(pg)
    try:
        return await reconcile(ChainGateway(rpc), conn, assets)
    finally:
        conn.close()
        await rpc.close()


@app.callback()
def onchain() -> None:
    """On-chain settlement operations (a group even while it has one command)."""


@app.command("reconcile")
def reconcile_command(pg: str = PG_OPTION, rpc: str = RPC_OPTION, assets: str = ASSETS_OPTION) -> None:
    """Compare on-chain settled balances with the read model at the last settled batch."""
    try:
        report = asyncio.run(run_reconcile(pg, [u for u in rpc.split(",") if u], parse_symbols(assets)))
    except NotCaughtUp as behind:
        typer.echo(f"not caught up: {behind}")
        raise typer.Exit(2) from None
    typer.echo(f"batch {report.sequence} at log position {report.position}: {len(report.checks)} balances")
    for check in report.divergent:
        line = (f"DIVERGENT {check.account} {check.asset}: on chain {check.on_chain}"
                f" (in-flight deposits {check.in_flight_deposits}), read model {check.read_model},"
                f" difference {check.difference}")
        log.error(line)
        typer.echo(line)
    if report.divergent:
        raise typer.Exit(1)
    typer.echo("all balances agree")
