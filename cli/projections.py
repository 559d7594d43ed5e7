"""`qd projections`: operate the read models (blue/green rebuild from the log)."""

import os

import typer

projections_app = typer.Typer(help="Read models: rebuild from the log.", no_args_is_help=True)


@projections_app.command()
def rebuild(
    name: str = typer.Argument(..., help="The projector to rebuild (see projections/registry.py)."),
    nats: str = typer.Option(os.environ.get("QD_NATS_URL", "nats://127.0.0.1:4222"), help="NATS URL."),
    pg: str = typer.Option(os.environ.get("QD_PG_DSN", ""), help="PostgreSQL conninfo."),
    switch: bool = typer.Option(True, help="Switch readers to the new schema when checksums match."),
    force: bool = typer.Option(False, help="Switch even if the checksums differ."),
) -> None:
    """Rebuild a projector into a fresh schema while the old one serves, compare, switch."""
    from projections.rebuild import main as rebuild_main

    arguments = [name, "--nats", nats, "--pg", pg]
    arguments += [] if switch else ["--no-switch"]
    arguments += ["--force"] if force else []
    raise typer.Exit(rebuild_main(arguments))
