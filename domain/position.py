"""A perpetual position and the pure arithmetic of fills on it.

A position is a signed base size (1e9; long > 0) and an entry notional (quote 1e6, >= 0): what
the open size cost. Average entry price = entry_notional * 1e9 / |base|. Realized PnL is computed
when a fill reduces the position and is settled into USDC at once.

Rounding (exchange's favour): the closed part's entry cost is rounded up for longs and down for
shorts; the exit value of a closing long is rounded down, the exit cost of a closing short up.
Invariant: base == 0 implies entry_notional == 0.
"""

from dataclasses import dataclass

from .numbers import BASE_SCALE, div_ceil, notional_ceil, notional_floor


@dataclass(slots=True)
class Position:
    """One sub-account's position in one market."""

    base: int = 0
    entry_notional: int = 0
    realized_pnl: int = 0  # cumulative, already settled into USDC
    fees_paid: int = 0  # cumulative, negative when rebates exceed fees

    def to_state(self) -> dict:
        """Plain canonical form."""
        return {
            "base": self.base,
            "entry_notional": self.entry_notional,
            "realized_pnl": self.realized_pnl,
            "fees_paid": self.fees_paid,
        }

    def average_entry_price(self) -> int | None:
        """Entry notional per whole base unit (1e6), rounded down; None when flat."""
        if self.base == 0:
            return None
        return self.entry_notional * BASE_SCALE // abs(self.base)


def apply_fill(base: int, entry_notional: int, delta: int, notional: int) -> tuple[int, int, int]:
    """(new_base, new_entry_notional, realized_pnl) after a fill of signed size `delta` whose
    trade notional (shared by both sides) is `notional`."""
    if delta == 0:
        return base, entry_notional, 0
    size = abs(delta)
    if base == 0 or (base > 0) == (delta > 0):
        return base + delta, entry_notional + notional, 0
    closing = min(size, abs(base))
    if base > 0:
        closed_entry = div_ceil(entry_notional * closing, abs(base))
        exit_value = notional * closing // size
        realized = exit_value - closed_entry
    else:
        closed_entry = entry_notional * closing // abs(base)
        exit_value = div_ceil(notional * closing, size)
        realized = closed_entry - exit_value
    new_base = base + delta
    new_entry = entry_notional - closed_entry
    if size > closing:  # flipped: the rest of the fill opens the other side
        new_entry = notional - exit_value
    if new_base == 0:
        new_entry = 0
    return new_base, new_entry, realized


def unrealized_pnl(base: int, entry_notional: int, mark_price: int) -> int:
    """PnL of the open size at a mark price: gains rounded down, losses rounded up."""
    if base > 0:
        return notional_floor(mark_price, base) - entry_notional
    if base < 0:
        return entry_notional - notional_ceil(mark_price, -base)
    return 0
