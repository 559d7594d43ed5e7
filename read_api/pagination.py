"""Opaque cursors for newest-first lists: a cursor names the last row returned."""

from __future__ import annotations

import base64
import json

from read_api.errors import ClientError

MAX_PAGE = 1000
DEFAULT_PAGE = 100


def encode_cursor(*key: int) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int = 1) -> list | None:
    """The key inside a cursor, or None for the first page; a bad cursor is a 400."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(key, list) or len(key) != arity:
            raise ValueError("wrong shape")
        for part in key:
            if isinstance(part, bool) or not isinstance(part, int):
                raise ValueError("wrong type")
            if not -(2**63) <= part < 2**63:
                raise ValueError("out of range")
        return key
    except (ValueError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ClientError(400, "InvalidCursor", f"cursor is not one we issued ({error})") from error
