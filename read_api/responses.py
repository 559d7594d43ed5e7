"""Encode query results straight to JSON bytes with msgspec, skipping FastAPI's re-validation of
response models: routes keep `response_model` for the OpenAPI document only.

Query functions return the API's models, built with `model_construct` around plain row dicts
(shaped like the item model, typed by the SQL): validating thousands of rows per second would
cost more than the query. Integers stay integers; datetimes are RFC 3339; decimals are strings.
"""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import Response
from pydantic import BaseModel

_encoder = msgspec.json.Encoder(enc_hook=lambda value: _plain(value), decimal_format="string")


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.__dict__
    raise TypeError(f"cannot encode {type(value).__name__}")


def respond(result: Any) -> Response:
    """A JSON response of one typed result or a list of them."""
    return Response(content=_encoder.encode(result), media_type="application/json")


def encode_body(result: Any) -> bytes:
    """The JSON bytes `respond` would send."""
    return _encoder.encode(result)


def encode(message: Any) -> str:
    """JSON text of a stream message (same encoding as HTTP responses)."""
    return _encoder.encode(message).decode()
