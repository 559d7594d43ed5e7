"""How `qd audit` prints: rich tables and one-line verdicts for people, or one JSON object.

One `console` for all the audit commands, so tests capturing stdout see everything.
"""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

console = Console()


def progress_bar(total: int, label: str) -> Progress:
    """A transient bar over log positions (hidden when there is nothing to read)."""
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, transient=True, disable=total == 0)


def print_replay(report: dict, as_json: bool) -> None:
    """The replay report: state hashes at the checkpoints, counts, and OK or FAILED with why."""
    if as_json:
        console.print_json(json.dumps(report))
        return
    table = Table("position", "state hash", "chain head", title="state at positions")
    for checkpoint in report["checkpoints"]:
        table.add_row(str(checkpoint["position"]), checkpoint["state_hash"],
                      checkpoint["chain_head"] or "(not verified)")
    console.print(table)
    console.print(f"{report['events']} events read, {report['applied']} applied, last position "
                  f"{report['last_position']}; chain head {report['chain_head'] or '-'}")
    if report.get("divergence"):
        console.print(f"divergence search: {report['divergence']['summary']}")
    if report["problem"]:
        console.print(f"[bold red]FAILED[/]: {report['problem']}")
    else:
        console.print("[bold green]OK[/]: " + ("chain verified, " if report["chain_verified"] else
                                              "chain not verifiable from the stream, ")
                      + "every event applied")


def print_account(snapshot) -> None:
    """An account at a past point: a table per sub-account, then its liquidations."""
    console.print(f"account {snapshot.owner} at position {snapshot.position} "
                  f"(command time {snapshot.at})")
    if snapshot.problem:
        console.print(f"[bold red]log problem before this point[/]: {snapshot.problem}")
    if not snapshot.exists:
        console.print("no such account at this point")
        return
    for number, sub in snapshot.sub_accounts.items():
        table = Table("what", "value", title=f"sub-account {number}")
        for asset, amount in sub["balances"].items():
            table.add_row(f"balance {asset}", str(amount))
        for market, position in sub["positions"].items():
            table.add_row(f"position {market}", json.dumps(position))
        table.add_row("margin", json.dumps(sub["margin"]))
        for order in sub["open_orders"]:
            table.add_row(f"open order {order['order_id']}", json.dumps(order))
        console.print(table)
    console.print(f"liquidations so far: {len(snapshot.liquidations)}")
    for liquidation in snapshot.liquidations:
        console.print(json.dumps(liquidation))


def print_settlements(report, as_json: bool) -> None:
    """Every settlement batch, chain versus log (a table, or the report as JSON)."""
    if as_json:
        typer.echo(json.dumps(report.as_json()))
        return
    table = Table(title="Settlement batches: chain vs log")
    for column in ("seq", "position", "log hash", "deltas", "withdrawals", "result"):
        table.add_column(column)
    for batch in report.batches:
        table.add_row(str(batch.sequence), str(batch.last_position), batch.log_hash[:16], str(batch.deltas),
                      str(batch.withdrawals), "agrees" if batch.ok else "DIFFERS")
    console.print(table)
