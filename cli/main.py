"""The `qd` command. Each area adds its subcommands here, one line each."""

import typer

from cli.audit import audit_app
from cli.projections import projections_app
from onchain.cli import app as onchain_app
from cli.stack import run_stack

app = typer.Typer(help="QuantDesk: operate and audit the exchange.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(projections_app, name="projections")
app.add_typer(onchain_app, name="onchain")


@app.command()
def run(
    state_dir: str = typer.Option(".state", help="Where the local stack keeps its data and logs."),
    nats_port: int = typer.Option(4222, help="NATS client port on 127.0.0.1."),
    pg_port: int = typer.Option(55432, help="PostgreSQL port on 127.0.0.1."),
    api_port: int = typer.Option(8000, help="Read API port on 127.0.0.1."),
    metrics_base: int = typer.Option(9101, help="First of the services' /metrics ports (9101..9121)."),
) -> None:
    """Run the whole local stack in the foreground; Ctrl-C stops all of it."""
    run_stack(state_dir=state_dir, nats_port=nats_port, pg_port=pg_port, api_port=api_port,
              metrics_base=metrics_base)


@app.command()
def version() -> None:
    """Print the installed version."""
    from importlib.metadata import version as installed

    typer.echo(installed("quantdesk"))


if __name__ == "__main__":
    app()
