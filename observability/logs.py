"""Structured JSON logs: one object per line, with the command id, account and event sequence
wherever they apply.

    configure_logging("engine", "INFO")          # once, in the bootstrap
    with log_context(command_id=cid, account=owner):
        log.info("command applied", extra={"event_seq": seq})

Each line carries ``ts`` (RFC 3339, UTC), ``level``, ``service``, ``logger``, ``message``, and
any of ``command_id``, ``account``, ``event_seq`` (plus ``position``, ``market``, ``projector``)
that is set — by the ``extra=`` of the call, or else by the innermost :func:`log_context` around
it (a ``contextvars`` value, so concurrent asyncio tasks never see each other's context).
Exceptions are rendered into ``exc_info`` as one string. Stdlib ``logging`` only: libraries'
own log lines come out as JSON too.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import json
import logging
import sys
from collections.abc import Iterator

# The fields a line may carry besides the basics, in the order they are written.
CONTEXT_FIELDS = ("command_id", "account", "event_seq", "position", "market", "projector")

_context: contextvars.ContextVar[dict[str, object]] = contextvars.ContextVar("qd_log_context", default={})


@contextlib.contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Attach `fields` (e.g. command_id, account, event_seq) to every log line inside the block."""
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"unknown log fields {sorted(unknown)}; known: {CONTEXT_FIELDS}")
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object on one line."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = _context.get()
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is None:
                value = context.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


def configure_logging(service: str, level: str = "INFO", stream=None) -> logging.Handler:
    """Make every log line of this process a JSON object (replaces the root logger's handlers)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
