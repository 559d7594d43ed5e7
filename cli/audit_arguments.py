"""Parsing the `qd audit` options that need more than typer's types: each bad value is a
`typer.BadParameter` naming the option and the expected form."""

from __future__ import annotations

from datetime import datetime

import typer


def require_store(dsn: str) -> str:
    """The event store's conninfo, or a usage error when none was given."""
    if not dsn:
        raise typer.BadParameter("no event store: pass --pg or set QD_PG_DSN")
    return dsn


def checkpoint_positions(text: str) -> list[int]:
    """`--at 1000,5000` as sorted, distinct log positions."""
    try:
        return sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError as error:
        raise typer.BadParameter(f"--at wants positions like 1000,5000: {error}") from error


def command_time_ns(text: str) -> int:
    """`--at-time` as int ns since the epoch: given as such, or as ISO 8601 with a timezone."""
    if text.lstrip("-").isdigit():
        return int(text)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise typer.BadParameter("--at-time needs a timezone, e.g. 2026-11-23T01:00:00+00:00")
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def published_head(text: str) -> tuple[int, str]:
    """`--expect-head POSITION=HEX` as (position, lower-case 64-hex-digit chain head)."""
    position, _, head = text.partition("=")
    if not position.strip().isdigit() or len(head.strip()) != 64:
        raise typer.BadParameter("--expect-head wants POSITION=<64 hex digits>")
    return int(position), head.strip().lower()
