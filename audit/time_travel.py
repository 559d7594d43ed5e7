"""Time travel: one account as it stood at a past log position or command time.

The answer comes from a replay from genesis that stops at the point asked (the chain is
verified on the way), then reads the rebuilt `Exchange` with the domain's own queries:
balances and positions per sub-account, margin figures at the marks of that moment, open
orders, and every liquidation-like event of the account so far with the inputs it recorded.

For a liquidation, "the inputs that decided it" are shown twice over: the event's own fields
(whatever the risk engine records), and the account's margin as the replay computes it from the
state just BEFORE the event (balances, positions, marks, equity, requirements, ratio), so an
auditor can check the decision against the rules rather than trust the event.
Any event whose type name contains "Liquidat" and that belongs to or names the account is
reported (today `Account.Liquidated`, and `LiquidationTakenOver` for the liquidator's side).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from audit.chain import LogRow
from audit.replay import Replay, ReplayResult


@dataclass
class AccountSnapshot:
    """What an auditor sees of one account at one point of the log."""

    owner: str
    position: int  # the last log position applied
    at: int | None  # the command time (ns) of the last event applied
    exists: bool
    sub_accounts: dict[int, dict[str, Any]] = field(default_factory=dict)
    liquidations: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None  # a chain break or replay failure met before the point

    def to_builtins(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return msgspec.to_builtins(self.__dict__)


class _AccountHistory:
    """Collects, during a replay, the account's liquidation events and the last command time."""

    def __init__(self, owner: str) -> None:
        from domain.ids import account_aggregate_id

        self.owner = owner
        self.account_id = account_aggregate_id(owner)
        self.liquidations: list[dict[str, Any]] = []
        self.last_at: int | None = None
        self._margin_before: dict[int, Any] = {}

    def before(self, row: LogRow, aggregates: dict[Any, Any]) -> None:
        """Before a liquidation-like event: the account's margin inputs as they stand."""
        if "Liquidat" not in row.topic:
            return
        from domain.exchange import Exchange

        exchange = Exchange.from_aggregates(aggregates.values())
        account = exchange.account(self.owner)
        if account is not None:
            self._margin_before[row.position] = {
                str(number): {"balances": dict(sorted(sub.balances.items())),
                              "positions": {m: p.to_state() for m, p in sorted(sub.positions.items())},
                              "marks": {m: exchange.mark_price(m) for m in sorted(sub.positions)},
                              "margin": _margin(exchange, self.owner, number)}
                for number, sub in sorted(account.sub_accounts.items())}

    def __call__(self, row: LogRow, event: Any) -> None:
        attributes = event.__dict__
        at = attributes.get("at")
        if isinstance(at, int):
            self.last_at = at
        name = type(event).__name__
        if "Liquidat" in name and (row.originator_id == self.account_id
                                   or any(self.owner in text for text in _strings(attributes))):
            self.liquidations.append({"position": row.position, "event": name,
                                      "recorded": _plain(attributes),
                                      "margin_before": self._margin_before.get(row.position)})


def account_at(rows: Iterable[LogRow], owner: str, *, position: int | None = None,
               time_ns: int | None = None, replay: Replay | None = None) -> AccountSnapshot:
    """The account of `owner` after every event at or before `position` (or whose command time
    is at or before `time_ns`)."""
    history = _AccountHistory(owner)
    engine = replay or Replay()
    result = engine.run(rows, up_to=position, until_time_ns=time_ns, observer=history,
                        before_apply=history.before)
    return describe(result, owner, history)


def describe(result: ReplayResult, owner: str, history: _AccountHistory) -> AccountSnapshot:
    """Read the account out of a finished replay."""
    from domain.exchange import Exchange

    snapshot = AccountSnapshot(owner=owner, position=result.last_position, at=history.last_at,
                               exists=False, liquidations=history.liquidations)
    problem = result.chain_break or result.failure
    snapshot.problem = str(problem) if problem else None
    exchange = Exchange.from_aggregates(result.aggregates.values())
    account = exchange.account(owner)
    if account is None:
        return snapshot
    snapshot.exists = True
    for number, sub in sorted(account.sub_accounts.items()):
        snapshot.sub_accounts[number] = {
            "balances": dict(sorted(sub.balances.items())),
            "positions": {market: position.to_state()
                          for market, position in sorted(sub.positions.items())},
            "margin": _margin(exchange, owner, number),
            "open_orders": [_plain(order) for order in exchange.open_orders(owner, number)],
        }
    return snapshot


def _margin(exchange: Any, owner: str, sub_account: int) -> dict[str, Any] | str:
    try:
        return _plain(exchange.margin(owner, sub_account))
    except Exception as error:  # noqa: BLE001 - e.g. no price yet: say so instead of failing
        return f"unavailable: {type(error).__name__}: {error}"


def _plain(value: Any) -> Any:
    return msgspec.to_builtins(value, builtin_types=(), enc_hook=str)


def _strings(attributes: dict[str, Any]) -> Iterable[str]:
    for value in attributes.values():
        if isinstance(value, str):
            yield value
        elif isinstance(value, (list, dict)):
            yield msgspec.json.encode(value).decode()
