"""Time-driven use cases of the Exchange: the dead-man switch and the expiry sweep.

The engine runs `expire(at, seq)` before every command, at that command's time: it cancels GTT
orders whose time has come (market by market, in symbol order) and fires due dead-man switches
(by fire time, then owner), cancelling every order and waiting trigger of the owner. Nothing
here reads a clock: "now" is always the command's `at`.
"""

from dataclasses import dataclass

from .ids import book_account_key
from .order_checks import is_int
from .rejections import RejectReason, Rejected

DEAD_MAN_CANCELLED = "DeadManSwitch"


@dataclass(frozen=True, slots=True)
class ExpirySweep:
    """What a time sweep cancelled."""

    expired_order_ids: list
    dead_man_owners: list


class TimeUseCases:
    """Mixin of `Exchange`."""

    def set_dead_man_switch(
        self, at: int, seq: int, *, owner: str, fires_at: int | None, signer: str | None = None
    ) -> None:
        """Arm (or renew, or with None disarm) the switch that cancels all of the owner's orders at
        `fires_at` (ns, command time)."""
        with self._rejecting(at, seq, "SetDeadManSwitch", owner):
            account = self._trading_account(owner, 0, signer)
            if fires_at is not None and (not is_int(fires_at) or fires_at <= at):
                raise Rejected(RejectReason.ALREADY_EXPIRED, "fires_at must be after the command time")
        account.set_dead_man_switch(at=at, seq=seq, fires_at=fires_at)
        self._touch(account)
        self._arm_dead_man(owner, fires_at)

    def expire(self, at: int, seq: int) -> ExpirySweep:
        """The time sweep: cancel expired GTT orders, then fire due dead-man switches."""
        expired: list = []
        for symbol in sorted(self.markets):
            market = self.markets[symbol]
            cancelled = market.expire_orders(at, seq)
            if cancelled:
                expired += [c["order_id"] for c in cancelled]
                self._touch(market)
        due = self._due_dead_man(at)
        markets = [self.markets[s] for s in sorted(self.markets)]
        for owner in due:
            account = self.accounts[owner]
            ids = self._cancel_everything(at, seq, owner, sorted(account.sub_accounts), markets, DEAD_MAN_CANCELLED)
            account.fire_dead_man_switch(at=at, seq=seq, cancelled_order_ids=ids)
            self._touch(account)
        return ExpirySweep(expired_order_ids=expired, dead_man_owners=due)

    def _cancel_everything(self, at, seq, owner, subs, markets, reason) -> list:
        ids: list = []
        for market in markets:
            for sub in subs:
                key = book_account_key(owner, sub)
                order_ids = [o.order_id for o in market.book.orders_of(key)]
                trigger_ids = [t.order.trigger_id for t in market.triggers.orders_of(key)]
                if order_ids:
                    market.cancel_orders(at, seq, order_ids, reason)
                if trigger_ids:
                    market.cancel_triggers(at=at, seq=seq, trigger_ids=trigger_ids, reason=reason)
                if order_ids or trigger_ids:
                    self._touch(market)
                ids += order_ids + trigger_ids
        return ids
