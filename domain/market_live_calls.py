"""Live versus replay for the Market's book calls: each call runs exactly once.

The book is deterministic, so a Market event records the *inputs* of a book call with what it
returned. Live, the command method makes the book call first (a rejected call must record no
event) and then triggers the event; the event body must not make the call again. On replay from
the store, the event body is the only place the call is made, which rebuilds the same book.

Invariant: the "already applied" flag never outlives the event it was set for, even when
triggering that event raises.
"""

from contextlib import contextmanager
from typing import Any, Callable, Iterator


class LiveBookCalls:
    """Mixin of the Market aggregate: `_already_applied` around a live event, `_once` in its body."""

    _live_result: Any = None

    @contextmanager
    def _already_applied(self, result: Any) -> Iterator[None]:
        """Live: the book call ran before its event; tell the event body not to run it again
        (and never leave the flag behind, even if triggering the event fails)."""
        self._live_result = result
        try:
            yield
        finally:
            self._live_result = None

    def _once(self, book_call: Callable[[], Any]) -> None:
        """Run the book call when replaying; live, it already ran before the event."""
        if self._live_result is None:
            book_call()
        self._live_result = None
