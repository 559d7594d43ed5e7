"""`qd audit ...`: verify the hash chain, replay the log, time-travel an account.

Mounted by cli/main.py with `app.add_typer(audit_app, name="audit")`. Connection settings come
from options or the stack's environment (QD_PG_DSN, QD_NATS_URL). Exit status 1 when the log
does not verify or replay, or when a state hash differs from the engine's.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

audit_app = typer.Typer(help="Audit the event log: chain, replay, time travel.",
                        no_args_is_help=True)
console = Console()

PG_OPTION = typer.Option("", "--pg", envvar="QD_PG_DSN",
                         help="PostgreSQL conninfo of the event store.")
TABLE_OPTION = typer.Option("exchange_events", "--events-table", help="The events table.")


def _require(dsn: str) -> str:
    if not dsn:
        raise typer.BadParameter("no event store: pass --pg or set QD_PG_DSN")
    return dsn


def _positions(text: str) -> list[int]:
    try:
        return sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError as error:
        raise typer.BadParameter(f"--at wants positions like 1000,5000: {error}") from error


def _progress(total: int, label: str) -> Progress:
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, transient=True, disable=total == 0)


@audit_app.command("install-chain")
def install_chain_command(pg: str = PG_OPTION, events_table: str = TABLE_OPTION) -> None:
    """Create the chain table and trigger (idempotent); chain events stored before."""
    import psycopg

    from audit.chain import install_chain

    with psycopg.connect(_require(pg)) as conn:
        chained = install_chain(conn, events_table)
    console.print(f"chain installed on {events_table}; {chained} existing events chained")


@audit_app.command()
def replay(
    pg: str = PG_OPTION,
    events_table: str = TABLE_OPTION,
    source: str = typer.Option("store", help="Rebuild from the `store` or the `stream` (QD_EVT)."),
    nats_url: str = typer.Option("nats://127.0.0.1:4222", "--nats", envvar="QD_NATS_URL"),
    at: str = typer.Option("", help="Positions to print the state hash at, e.g. 1000,5000."),
    engine: bool = typer.Option(False, help="Also compare with the live engine's state hash."),
    expect_head: str = typer.Option("", help="POSITION=HEX: a chain head published elsewhere "
                                    "(e.g. a settlement batch's log hash) that must match."),
    parallel: bool = typer.Option(False, help="Verify the chain in a second process (helps on "
                                  "an idle multi-core machine; same results)."),
    no_verify: bool = typer.Option(False, "--no-verify",
                                   help="Replay a store that has no chain (nothing is proven)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    find_divergence: bool = typer.Option(
        False, "--find-divergence", help="Re-run the commands stream (QD_CMD) through a fresh "
        "domain and name the first stored event that differs (automatic on an --engine mismatch)."),
    admin: list[str] = typer.Option([], "--admin", envvar="QD_ADMIN_PUBKEY",
                                    help="The engine's admin keys (for --find-divergence)."),
    deposit_watcher: list[str] = typer.Option([], "--deposit-watcher", envvar="QD_DEPOSIT_PUBKEY"),
    settler: list[str] = typer.Option([], "--settler", envvar="QD_SETTLER_PUBKEY"),
) -> None:
    """Rebuild the whole domain from genesis, verify the chain, print state hashes."""
    from audit.log_source import StoreLog
    from audit.replay import Replay

    checkpoints = _positions(at)
    anchor = _anchor(expect_head) if expect_head else None
    if anchor is not None:
        checkpoints = sorted({*checkpoints, anchor[0]})
    live = _engine_state(nats_url) if engine else None
    stop_at_seq = None
    if live is not None:
        if live.get("log_position"):
            checkpoints = sorted({*checkpoints, int(live["log_position"])})
        else:  # the engine reports its commands position: stop after that command's events
            stop_at_seq = int(live["position"])
    if source == "store":
        log = StoreLog(_require(pg), events_table)
        verify = not no_verify
        if verify and not log.has_chain():
            console.print(f"[bold red]no hash chain on {events_table}[/]: run `qd audit "
                          "install-chain` (or replay unverified with --no-verify)")
            raise typer.Exit(1)
        rows, total = log.rows(with_chain=verify), log.max_position()
    elif source == "stream":
        from audit.stream_source import StreamIncomplete

        try:
            rows, total, verify = _stream_rows(nats_url)
        except StreamIncomplete as error:
            console.print(f"[bold red]cannot replay from the stream[/]: {error}")
            raise typer.Exit(1) from error
    else:
        raise typer.BadParameter("--source is `store` or `stream`")
    with _progress(total, f"replaying {source}") as progress:
        task = progress.add_task("replay", total=total)
        advance = lambda position: progress.update(task, completed=position)  # noqa: E731
        if parallel and verify and source == "store" and stop_at_seq is None:
            from audit.store_replay import replay_store

            result = replay_store(log, checkpoints=checkpoints, progress=advance)
        else:
            result = Replay(verify_chain=verify).run(
                rows, checkpoints=checkpoints, until_command_seq=stop_at_seq, progress=advance)
    difference = None
    if source == "stream" and pg:
        difference = _compare_with_store(pg, events_table, nats_url)
    mismatch = _engine_mismatch(result, live) or _anchor_mismatch(result, anchor)
    report = {
        "source": source, "events": result.events, "applied": result.applied,
        "last_position": result.last_position, "chain_verified": verify and result.ok,
        "chain_head": result.chain_head,
        "checkpoints": [{"position": c.position, "state_hash": c.state_hash,
                         "chain_head": c.chain_head} for c in result.checkpoints],
        "problem": str(result.chain_break or result.failure or difference or mismatch or "") or None,
    }
    if find_divergence or (mismatch and live is not None) or (difference and source == "stream"):
        found = _find_divergence(pg or "", events_table, nats_url, admin, deposit_watcher, settler)
        report["divergence"] = found.as_dict()
        if found.divergence is not None and not report["problem"]:
            report["problem"] = found.summary
    _print_replay(report, as_json)
    if report["problem"]:
        raise typer.Exit(1)


@audit_app.command()
def state(
    account: str = typer.Option(..., help="The owner's public key (base58)."),
    at_seq: int = typer.Option(None, help="Log position (the receipts' sequence numbers)."),
    at_time: str = typer.Option(None, help="Command time: int ns since epoch, or ISO 8601."),
    pg: str = PG_OPTION,
    events_table: str = TABLE_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """An account's balances, positions, margin and open orders at a past point."""
    from audit.log_source import StoreLog
    from audit.time_travel import account_at

    if (at_seq is None) == (at_time is None):
        raise typer.BadParameter("give exactly one of --at-seq or --at-time")
    log = StoreLog(_require(pg), events_table)
    snapshot = account_at(log.rows(), account, position=at_seq,
                          time_ns=_time_ns(at_time) if at_time is not None else None)
    if as_json:
        console.print_json(json.dumps(snapshot.to_builtins()))
    else:
        _print_account(snapshot)
    if snapshot.problem:
        raise typer.Exit(1)


# ----- helpers -------------------------------------------------------------------------------


def _time_ns(text: str) -> int:
    if text.lstrip("-").isdigit():
        return int(text)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise typer.BadParameter("--at-time needs a timezone, e.g. 2026-11-23T01:00:00+00:00")
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def _anchor(text: str) -> tuple[int, str]:
    position, _, head = text.partition("=")
    if not position.strip().isdigit() or len(head.strip()) != 64:
        raise typer.BadParameter("--expect-head wants POSITION=<64 hex digits>")
    return int(position), head.strip().lower()


def _anchor_mismatch(result, anchor: tuple[int, str] | None) -> str | None:
    """A published head the log does not reproduce (a rewritten or truncated log)."""
    if anchor is None or not result.ok:
        return None
    position, expected = anchor
    if result.last_position < position:
        return (f"the log ends at position {result.last_position}, before position {position} "
                "whose head was published: events were removed from the end")
    found = next((c.chain_head for c in result.checkpoints if c.position == position), "")
    if found != expected:
        return (f"chain head at position {position} is {found}, the published head is "
                f"{expected}: the log up to there is not the one committed to")
    return None


def _stream_rows(nats_url: str):
    from audit.replay import default_mapper
    from audit.stream_source import WireToRows, read_events_stream

    messages = asyncio.run(read_events_stream(nats_url))
    total = messages[-1].position if messages else 0
    return WireToRows(default_mapper()).rows(messages), total, False


def _compare_with_store(pg: str, events_table: str, nats_url: str):
    from audit.log_source import StoreLog
    from audit.replay import default_mapper
    from audit.stream_source import compare_logs

    stream_rows, _, _ = _stream_rows(nats_url)
    return compare_logs(StoreLog(pg, events_table).rows(), stream_rows, default_mapper())


def _find_divergence(pg: str, events_table: str, nats_url: str, admin: list[str],
                     deposit_watchers: list[str], settlers: list[str]):
    """Re-run the commands the store has committed and compare with the stored events."""
    from audit.divergence import find_divergence, store_bounds
    from audit.log_source import StoreLog
    from bus.engine_intake import OperatorKeys

    operators = OperatorKeys(admin=frozenset(admin), deposit_watchers=frozenset(deposit_watchers),
                             settlers=frozenset(settlers))
    position, seq = store_bounds(_require(pg), events_table)
    rows = StoreLog(pg, events_table).rows(up_to=position, with_chain=False)
    return find_divergence(rows, nats_url, operators, until_seq=seq)


def _engine_state(nats_url: str) -> dict:
    import msgspec
    import nats

    from bus.engine import RPC_STATE

    async def ask() -> dict:
        connection = await nats.connect(nats_url)
        try:
            reply = await connection.request(RPC_STATE, b"", timeout=30)
            return msgspec.json.decode(reply.data)
        finally:
            await connection.close()

    return asyncio.run(ask())


def _engine_mismatch(result, live: dict | None) -> str | None:
    if live is None or not result.checkpoints:
        return None
    if live.get("log_position"):
        mine = next((c for c in result.checkpoints if c.position == int(live["log_position"])), None)
    else:
        mine = result.checkpoints[-1]
    if mine is None or mine.state_hash == live["state_hash"]:
        return None
    return (f"state hash at position {mine.position} is {mine.state_hash}, the live engine has "
            f"{live['state_hash']}: the divergence lies at or before this position")


def _print_replay(report: dict, as_json: bool) -> None:
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


def _print_account(snapshot) -> None:
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


@audit_app.command()
def settlements(
    pg: str = PG_OPTION,
    rpc: str = typer.Option("", "--rpc", envvar="QD_RPC_URLS", help="JSON-RPC URL(s), comma-separated (failover)."),
    assets: str = typer.Option("USDC", "--assets", envvar="QD_ONCHAIN_ASSETS", help="Symbols in asset-index order."),
    events_table: str = TABLE_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Compare every settlement batch on chain (sequence, hashes, deltas) with the log."""
    from audit.settlements import audit_settlements
    from onchain.assets import parse_symbols

    urls = [url.strip() for url in rpc.split(",") if url.strip()]
    if not urls:
        raise typer.BadParameter("no chain: pass --rpc or set QD_RPC_URLS")
    report = asyncio.run(audit_settlements(_require(pg), urls, parse_symbols(assets), events_table))
    if as_json:
        typer.echo(json.dumps(report.as_json()))
    else:
        table = Table(title="Settlement batches: chain vs log")
        for column in ("seq", "position", "log hash", "deltas", "withdrawals", "result"):
            table.add_column(column)
        for batch in report.batches:
            table.add_row(str(batch.sequence), str(batch.last_position), batch.log_hash[:16], str(batch.deltas),
                          str(batch.withdrawals), "agrees" if batch.ok else "DIFFERS")
        console.print(table)
    failure = report.first_failure
    if failure is None:
        typer.echo(f"all {len(report.batches)} settlement batches agree with the log")
        return
    typer.echo(f"batch {failure.sequence} DIFFERS ({failure.signature}): " + " | ".join(failure.problems))
    raise typer.Exit(1)
