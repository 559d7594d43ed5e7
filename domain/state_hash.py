"""A canonical, deterministic sha256 over the whole domain state.

Canonical form: every aggregate's `to_state()` (plain ints, strs, bools, None, lists and
str-keyed dicts; sets as sorted lists; the book's own canonical form) plus its version, grouped
by kind and keyed by natural key, encoded as JSON with sorted keys and no whitespace.
Same commands in the same order => same hash, bit for bit. Known limit: JSON of the whole state
is O(state); it is for start-up checks and audits, not per command.
"""

import hashlib
import json


def canonical_state(exchange) -> dict:  # noqa: ANN001 - the Exchange (import would be circular)
    """The whole state as plain data."""

    def versioned(aggregate) -> dict:  # noqa: ANN001
        return {"version": aggregate.version, "state": aggregate.to_state()}

    fund = exchange.insurance_fund
    return {
        "markets": {s: versioned(m) for s, m in sorted(exchange.markets.items())},
        "accounts": {o: versioned(a) for o, a in sorted(exchange.accounts.items())},
        "oracles": {s: versioned(o) for s, o in sorted(exchange.oracles.items())},
        "insurance_fund": None if fund is None else versioned(fund),
    }


def canonical_bytes(state: dict) -> bytes:
    """The canonical encoding: JSON, sorted keys, compact separators, ASCII."""
    return json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def state_hash(exchange) -> str:  # noqa: ANN001
    """sha256 hex digest of the canonical state."""
    return hashlib.sha256(canonical_bytes(canonical_state(exchange))).hexdigest()
