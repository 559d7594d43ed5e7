"""Off-book trigger orders: stops, take-profits and trailing stops waiting for a price.

Pure and deterministic like the book. A trigger waits here, keyed by its trigger price and
direction, until `on_price(price)` (called by the risk engine with mark/oracle prices) finds its
condition true; it then leaves this structure and is returned for the caller to place on the book
as a market or limit order. Fired triggers come out ordered by (trigger price, arrival sequence).

Direction follows from kind and side:
- stop (market/limit) and trailing stop: a BUY fires when price >= trigger, a SELL when price <= trigger.
- take-profit (market/limit): a BUY fires when price <= trigger, a SELL when price >= trigger.
Trailing stops follow the best price seen since they were added (the highest for a SELL, the
lowest for a BUY): trigger = reference -/+ offset, where offset is `trail_amount`, or
`reference * trail_bps // 10_000` (rounded down: the trigger sits closer to the reference).
`add` never fires a trigger: the next `on_price` does.
"""

from __future__ import annotations

from dataclasses import fields
from enum import StrEnum

from sortedcontainers import SortedList

from . import book_state
from .trigger_types import (
    PendingTrigger,
    Triggered,
    TriggerDirection,
    TriggerKind,
    TriggerOrder,
    check_trigger,
    direction_of,
    trail_trigger,
)
from .types import AccountKey, ClientOrderId, OrderId, RejectReason, Side

__all__ = ["PendingTrigger", "Triggered", "TriggerBook", "TriggerDirection", "TriggerKind", "TriggerOrder", "direction_of"]


class TriggerBook:
    """The waiting trigger orders of one market."""

    def __init__(self) -> None:
        self.next_sequence = 1
        self.pending: dict[OrderId, _Waiting] = {}
        self.by_client_id: dict[tuple[AccountKey, ClientOrderId], OrderId] = {}
        self.by_account: dict[AccountKey, dict[OrderId, _Waiting]] = {}
        # (trigger_price, sequence) keys; sequence is unique, so keys never tie
        self.rises = SortedList()
        self.falls = SortedList()
        self.ids_by_sequence: dict[int, OrderId] = {}
        self.trailing: dict[OrderId, _Waiting] = {}

    def add(self, order: TriggerOrder, reference_price: int | None = None) -> RejectReason | None:
        """Start waiting; trailing stops need the current `reference_price`. None = accepted."""
        reason = check_trigger(order, reference_price)
        if reason is not None:
            return reason
        if order.trigger_id in self.pending:
            return RejectReason.DUPLICATE_ORDER_ID
        if order.client_order_id is not None and (order.account, order.client_order_id) in self.by_client_id:
            return RejectReason.DUPLICATE_CLIENT_ORDER_ID
        direction = direction_of(order.kind, order.side)
        if order.kind is TriggerKind.TRAILING_STOP:
            trigger_price = trail_trigger(order, reference_price)
            if trigger_price <= 0:
                return RejectReason.INVALID_ORDER
        else:
            trigger_price, reference_price = order.trigger_price, None
        sequence = self.next_sequence
        self.next_sequence = sequence + 1
        self._insert(_Waiting(order, direction, trigger_price, reference_price, sequence))
        return None

    def cancel(self, trigger_id: OrderId) -> PendingTrigger | None:
        """Stop waiting; None if there is no such trigger."""
        waiting = self.pending.get(trigger_id)
        if waiting is None:
            return None
        self._remove(waiting)
        return waiting.view()

    def cancel_all(self, account: AccountKey) -> list[PendingTrigger]:
        """Remove every trigger of an account, in arrival order."""
        mine = sorted(self.by_account.get(account, {}).values(), key=_by_sequence)
        for waiting in mine:
            self._remove(waiting)
        return [waiting.view() for waiting in mine]

    def on_price(self, price: int) -> list[Triggered]:
        """Move trailing stops, then remove and return the triggers whose condition holds."""
        if type(price) is not int:
            raise ValueError("price must be an int")
        for waiting in list(self.trailing.values()):
            self._follow(waiting, price)
        keys = list(self.rises.islice(0, self.rises.bisect_left((price + 1,))))
        keys += self.falls.islice(self.falls.bisect_left((price,)))
        keys.sort()
        fired = []
        for trigger_price, sequence in keys:
            waiting = self.pending[self.ids_by_sequence[sequence]]
            self._remove(waiting)
            fired.append(Triggered(waiting.order, trigger_price, price, sequence))
        return fired

    def get(self, trigger_id: OrderId) -> PendingTrigger | None:
        """A waiting trigger by id, or None."""
        waiting = self.pending.get(trigger_id)
        return waiting.view() if waiting is not None else None

    def order_by_client_id(self, account: AccountKey, client_order_id: ClientOrderId) -> PendingTrigger | None:
        """A waiting trigger by (account, client order id), O(1), or None."""
        trigger_id = self.by_client_id.get((account, client_order_id))
        return self.pending[trigger_id].view() if trigger_id is not None else None

    def orders_of(self, account: AccountKey) -> list[PendingTrigger]:
        """The waiting triggers of an account, in arrival order."""
        mine = sorted(self.by_account.get(account, {}).values(), key=_by_sequence)
        return [waiting.view() for waiting in mine]

    def order_count(self, account: AccountKey | None = None) -> int:
        """The number of waiting triggers, of all accounts or of one, O(1)."""
        return len(self.pending) if account is None else len(self.by_account.get(account, ()))

    def __len__(self) -> int:
        """The number of waiting triggers."""
        return len(self.pending)

    def snapshot(self) -> dict:
        """Plain JSON-safe data from which `restore` rebuilds this structure."""
        return self.canonical()

    @classmethod
    def restore(cls, snapshot: dict) -> "TriggerBook":
        """Rebuild from `snapshot()` data."""
        if snapshot.get("version") != _VERSION:
            raise ValueError(f"unsupported trigger snapshot version {snapshot.get('version')!r}")
        book = cls()
        book.next_sequence = snapshot["next_sequence"]
        for row in snapshot["triggers"]:
            order = _order_from_plain(row["order"])
            book._insert(
                _Waiting(order, TriggerDirection(row["direction"]), row["trigger_price"], row["reference_price"],
                         row["sequence"])
            )  # fmt: skip
        return book

    def canonical(self) -> dict:
        """The deterministic plain form of the whole state."""
        rows = [w.plain() for w in sorted(self.pending.values(), key=_by_sequence)]
        return {"version": _VERSION, "next_sequence": self.next_sequence, "triggers": rows}

    def state_digest(self) -> str:
        """A sha256 hex digest of the canonical state."""
        return book_state.digest(self.canonical())

    # ----- internals ------------------------------------------------------------------------

    def _index(self, waiting: "_Waiting") -> SortedList:
        return self.rises if waiting.direction is TriggerDirection.RISES_TO else self.falls

    def _insert(self, waiting: "_Waiting") -> None:
        order = waiting.order
        self.pending[order.trigger_id] = waiting
        self.by_account.setdefault(order.account, {})[order.trigger_id] = waiting
        self.ids_by_sequence[waiting.sequence] = order.trigger_id
        self._index(waiting).add((waiting.trigger_price, waiting.sequence))
        if order.client_order_id is not None:
            self.by_client_id[(order.account, order.client_order_id)] = order.trigger_id
        if order.kind is TriggerKind.TRAILING_STOP:
            self.trailing[order.trigger_id] = waiting

    def _remove(self, waiting: "_Waiting") -> None:
        order = waiting.order
        del self.pending[order.trigger_id]
        mine = self.by_account[order.account]
        del mine[order.trigger_id]
        if not mine:
            del self.by_account[order.account]
        del self.ids_by_sequence[waiting.sequence]
        self._index(waiting).remove((waiting.trigger_price, waiting.sequence))
        if order.client_order_id is not None:
            del self.by_client_id[(order.account, order.client_order_id)]
        self.trailing.pop(order.trigger_id, None)

    def _follow(self, waiting: "_Waiting", price: int) -> None:
        """A trailing stop's reference follows the price only when it moves in its favour."""
        is_sell = waiting.order.side is Side.SELL
        if (price <= waiting.reference_price) if is_sell else (price >= waiting.reference_price):
            return
        index = self._index(waiting)
        index.remove((waiting.trigger_price, waiting.sequence))
        waiting.reference_price = price
        waiting.trigger_price = trail_trigger(waiting.order, price)
        index.add((waiting.trigger_price, waiting.sequence))


class _Waiting:
    """A mutable waiting trigger (trailing stops move their trigger price)."""

    __slots__ = ("order", "direction", "trigger_price", "reference_price", "sequence")

    def __init__(self, order, direction, trigger_price, reference_price, sequence) -> None:
        self.order = order
        self.direction = direction
        self.trigger_price = trigger_price
        self.reference_price = reference_price
        self.sequence = sequence

    def view(self) -> PendingTrigger:
        return PendingTrigger(self.order, self.direction, self.trigger_price, self.reference_price, self.sequence)

    def plain(self) -> dict:
        return {
            "order": {f.name: _plain_value(getattr(self.order, f.name)) for f in fields(TriggerOrder)},
            "direction": self.direction.value,
            "trigger_price": self.trigger_price,
            "reference_price": self.reference_price,
            "sequence": self.sequence,
        }


_VERSION = 1


def _plain_value(value: object) -> object:
    return value.value if isinstance(value, StrEnum) else value


def _order_from_plain(row: dict) -> TriggerOrder:
    values = dict(row)
    values["side"] = Side(values["side"])
    values["kind"] = TriggerKind(values["kind"])
    return TriggerOrder(**values)


def _by_sequence(waiting: "_Waiting") -> int:
    return waiting.sequence
