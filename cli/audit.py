"""`qd audit ...`: verify the hash chain, replay the log, time-travel an account.

Mounted by cli/main.py with `app.add_typer(audit_app, name="audit")`. Connection settings come
from options or the stack's environment (QD_PG_DSN, QD_NATS_URL). Exit status 1 when the log
does not verify or replay, or when a state hash differs from the engine's.
"""

from __future__ import annotations

import asyncio
import json

import typer

from cli.audit_arguments import checkpoint_positions, command_time_ns, published_head, require_store
from cli.audit_checks import (
    anchor_mismatch,
    compare_with_store,
    engine_mismatch,
    engine_state,
    find_divergence_in_store,
    stream_rows,
)
from cli.audit_output import console, print_account, print_replay, print_settlements, progress_bar

audit_app = typer.Typer(help="Audit the event log: chain, replay, time travel.",
                        no_args_is_help=True)

PG_OPTION = typer.Option("", "--pg", envvar="QD_PG_DSN",
                         help="PostgreSQL conninfo of the event store.")
TABLE_OPTION = typer.Option("exchange_events", "--events-table", help="The events table.")


@audit_app.command("install-chain")
def install_chain_command(pg: str = PG_OPTION, events_table: str = TABLE_OPTION) -> None:
    """Create the chain table and trigger (idempotent); chain events stored before."""
    import psycopg

    from audit.chain import install_chain

    with psycopg.connect(require_store(pg)) as conn:
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

    checkpoints = checkpoint_positions(at)
    anchor = published_head(expect_head) if expect_head else None
    if anchor is not None:
        checkpoints = sorted({*checkpoints, anchor[0]})
    live = engine_state(nats_url) if engine else None
    stop_at_seq = None
    if live is not None:
        if live.get("log_position"):
            checkpoints = sorted({*checkpoints, int(live["log_position"])})
        else:  # the engine reports its commands position: stop after that command's events
            stop_at_seq = int(live["position"])
    if source == "store":
        log = StoreLog(require_store(pg), events_table)
        verify = not no_verify
        if verify and not log.has_chain():
            console.print(f"[bold red]no hash chain on {events_table}[/]: run `qd audit "
                          "install-chain` (or replay unverified with --no-verify)")
            raise typer.Exit(1)
        rows, total = log.rows(with_chain=verify), log.max_position()
    elif source == "stream":
        from audit.stream_source import StreamIncomplete

        try:
            rows, total, verify = stream_rows(nats_url)
        except StreamIncomplete as error:
            console.print(f"[bold red]cannot replay from the stream[/]: {error}")
            raise typer.Exit(1) from error
    else:
        raise typer.BadParameter("--source is `store` or `stream`")
    with progress_bar(total, f"replaying {source}") as progress:
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
        difference = compare_with_store(pg, events_table, nats_url)
    mismatch = engine_mismatch(result, live) or anchor_mismatch(result, anchor)
    report = {
        "source": source, "events": result.events, "applied": result.applied,
        "last_position": result.last_position, "chain_verified": verify and result.ok,
        "chain_head": result.chain_head,
        "checkpoints": [{"position": c.position, "state_hash": c.state_hash,
                         "chain_head": c.chain_head} for c in result.checkpoints],
        "problem": str(result.chain_break or result.failure or difference or mismatch or "") or None,
    }
    if find_divergence or (mismatch and live is not None) or (difference and source == "stream"):
        found = find_divergence_in_store(pg or "", events_table, nats_url, admin, deposit_watcher, settler)
        report["divergence"] = found.as_dict()
        if found.divergence is not None and not report["problem"]:
            report["problem"] = found.summary
    print_replay(report, as_json)
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
    log = StoreLog(require_store(pg), events_table)
    snapshot = account_at(log.rows(), account, position=at_seq,
                          time_ns=command_time_ns(at_time) if at_time is not None else None)
    if as_json:
        console.print_json(json.dumps(snapshot.to_builtins()))
    else:
        print_account(snapshot)
    if snapshot.problem:
        raise typer.Exit(1)


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
    report = asyncio.run(audit_settlements(require_store(pg), urls, parse_symbols(assets), events_table))
    print_settlements(report, as_json)
    failure = report.first_failure
    if failure is None:
        typer.echo(f"all {len(report.batches)} settlement batches agree with the log")
        return
    typer.echo(f"batch {failure.sequence} DIFFERS ({failure.signature}): " + " | ".join(failure.problems))
    raise typer.Exit(1)
