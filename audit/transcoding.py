"""A faster drop-in for eventsourcing's JSONTranscoder when READING a log (same dicts out).

eventsourcing decodes stored state with `json` and an object hook that turns every
`{"_type_": name, "_data_": value}` dict into its registered custom type. Our domain events hold
plain JSON except one such dict, the top-level `timestamp` (domain rule, domain/aggregate.py), so
msgspec decodes them ~6x faster and only that one value needs converting.

Exactness: the fast path is taken only when the bytes contain no `\\u` escape (so a key cannot
be spelled differently) and at most one `"_type_"`, which is then the top-level timestamp; msgspec
and json agree on plain JSON (ints of any size, last duplicate key wins). Anything else, or any
msgspec error, falls back to the stock decoder, so the output is always what eventsourcing's
own transcoder would return.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder

_TYPE_KEY = b'"_type_"'
_ESCAPE = b"\\u"
_decode = msgspec.json.decode
_from_iso = datetime.fromisoformat


class ReadFastJSONTranscoder(JSONTranscoder):
    """JSONTranscoder whose decode takes a msgspec fast path for plain-JSON event state."""

    def decode(self, data: bytes) -> Any:
        """The same object `JSONTranscoder.decode(data)` returns."""
        if _ESCAPE in data:
            return super().decode(data)
        typed = data.count(_TYPE_KEY)
        if typed > 1:
            return super().decode(data)
        try:
            decoded = _decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return super().decode(data)
        if typed == 0:
            return decoded
        timestamp = decoded.get("timestamp") if isinstance(decoded, dict) else None
        if not (isinstance(timestamp, dict) and len(timestamp) == 2
                and "_type_" in timestamp and "_data_" in timestamp):
            return super().decode(data)
        if (timestamp["_type_"] == "datetime_iso" and isinstance(timestamp["_data_"], str)
                and type(self.names.get("datetime_iso")) is DatetimeAsISO):
            # What DatetimeAsISO.decode does, without two calls in between.
            decoded["timestamp"] = _from_iso(timestamp["_data_"])
        else:
            decoded["timestamp"] = self._decode_obj(timestamp)
        return decoded
