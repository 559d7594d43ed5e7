"""Exponential back-off with a ceiling, and a failure report that never raises."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays 1, 2, 4, ... up to `ceiling` seconds (with +/-20% jitter), reset on success."""

    initial: float = 1.0
    ceiling: float = 30.0
    failures: int = 0
    jitter: random.Random = field(default_factory=random.Random)

    def next_delay(self) -> float:
        """Record one failure; the delay to wait before the next attempt."""
        self.failures += 1
        delay = min(self.ceiling, self.initial * 2 ** (self.failures - 1))
        return delay * (0.8 + 0.4 * self.jitter.random())

    def succeeded(self) -> None:
        """Back to the initial delay."""
        self.failures = 0


def report(log: logging.Logger, what: str, error: BaseException, delay: float, failures: int) -> None:
    """One line per failure: what failed, why, and when we try again."""
    log.warning("%s failed (%s: %s); attempt %d, retrying in %.1f s", what, type(error).__name__, error, failures, delay)
