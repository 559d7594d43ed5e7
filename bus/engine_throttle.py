"""Per-account command throttle: a token bucket per owner, on the commands stream's clock.

One engine applies every command, so one account's bot flooding the commands stream would take
the exchange's capacity from everyone else. Each owner may send `rate` commands a second, in
bursts of up to `burst`; beyond that its new commands are refused `RateLimited`. The refusal is
an outcome like any other: stored in the command's receipt and answered (a retry needs a new
command id, as after any refusal).

Time is each command's stream timestamp, so the decisions follow from the command sequence
alone, never from the engine's clock. Integers only: a bucket holds tokens in
command-nanoseconds (one command costs 1e9, a nanosecond refills `rate`). The buckets live in
memory: a restart refills them, so the decisions are not a function of the commands stream
alone; they are recorded in the receipts, and an audit that re-runs the commands takes them
from there (`RecordedRefusals`, used by `audit.divergence`). Operator keys (admin, deposit
watcher, settler) are never throttled: the exchange's own plumbing must not queue behind a
flood.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from commands.envelope import Envelope

NS = 1_000_000_000  # one command, in command-nanoseconds
FORGET_FROM = 100_000  # owners tracked before the full buckets are forgotten


class CommandThrottle:
    """Token buckets per owner; `admit(envelope, at)`: whether the envelope's owner may have a
    command at stream time `at` (ns)."""

    def __init__(self, rate: int, burst: int, exempt: frozenset[str] = frozenset()) -> None:
        self.rate = rate  # commands per second per owner; 0: no throttle
        self.capacity = max(burst, 1) * NS
        self.exempt = exempt
        self.buckets: dict[str, tuple[int, int]] = {}  # owner -> (tokens, stream time ns)
        self.forget_from = FORGET_FROM

    def admit(self, envelope: Envelope, at: int) -> tuple[bool, str]:
        """(admitted, why not)."""
        if self.take(envelope.owner, envelope.signer, at):
            return True, ""
        return False, f"more than {self.rate} commands/s (bursts of {self.capacity // NS}) for this account"

    def take(self, owner: str, signer: str, at: int) -> bool:
        """Spend one command of `owner`'s bucket at `at`, if it holds one."""
        if self.rate <= 0 or signer in self.exempt:
            return True
        tokens, then = self.buckets.get(owner, (self.capacity, at))
        now = max(at, then)  # a cluster's stream clock may step back a little at a failover
        tokens = min(self.capacity, tokens + (now - then) * self.rate)
        admitted = tokens >= NS
        self.buckets[owner] = (tokens - NS if admitted else tokens, now)
        if len(self.buckets) > self.forget_from:
            self._forget_full(now)
        return admitted

    def _forget_full(self, now: int) -> None:
        """Drop the owners whose bucket has refilled: forgetting them changes nothing."""
        self.buckets = {owner: (tokens, then) for owner, (tokens, then) in self.buckets.items()
                        if tokens + (now - then) * self.rate < self.capacity}
        self.forget_from = max(FORGET_FROM, 2 * len(self.buckets))  # not again at the next command


class RecordedRefusals:
    """The throttle's decisions as the receipts recorded them: refuses exactly the commands
    (owner, command id) the engine refused, with the engine's message."""

    def __init__(self, refused: dict[tuple[str, str], str]) -> None:
        self.refused = refused

    def admit(self, envelope: Envelope, at: int) -> tuple[bool, str]:
        message = self.refused.get((envelope.owner, envelope.command_id))
        return message is None, message or ""
