"""The Account aggregate: one owner (a Solana public key), its delegates and numbered
sub-accounts, each with multi-asset collateral balances and per-market positions.

Invariants: balances of assets other than USDC never go negative (withdrawals and transfers are
checked by the caller against free collateral); USDC may go negative only through realized
losses and fees, and is then a debt counted in margin. A position with base 0 has entry 0.
Open orders are not stored here: they live in the markets' books (an index derived in memory).
Cumulative deposits and withdrawals per asset are kept for the money-conservation identity.
"""

from eventsourcing.domain import event

from .aggregate import DomainAggregate, hot_path
from .ids import SETTLEMENT_ASSET, account_aggregate_id
from .position import Position


class SubAccount:
    """One numbered sub-account: collateral balances (native units) and positions."""

    __slots__ = ("balances", "positions")

    def __init__(self) -> None:
        self.balances: dict[str, int] = {}
        self.positions: dict[str, Position] = {}

    def balance(self, asset: str) -> int:
        """The balance of one asset (0 if never held)."""
        return self.balances.get(asset, 0)

    def position(self, market: str) -> Position:
        """The position in one market (flat if never traded)."""
        return self.positions.get(market) or Position()

    def to_state(self) -> dict:
        """Canonical plain state."""
        return {
            "balances": {a: v for a, v in sorted(self.balances.items())},
            "positions": {m: p.to_state() for m, p in sorted(self.positions.items())},
        }


class Account(DomainAggregate):
    """All sub-accounts of one owner (natural key: the owner's public key)."""

    @staticmethod
    def create_id(owner: str):  # noqa: ANN205
        """uuid5 of the owner: opening an account twice yields the same id."""
        return account_aggregate_id(owner)

    @event("Opened")
    def __init__(self, at: int, seq: int, owner: str) -> None:
        self.owner = owner
        self.delegates: set[str] = set()
        self.sub_accounts: dict[int, SubAccount] = {0: SubAccount()}
        self.dead_man_fires_at: int | None = None
        self.deposited: dict[str, int] = {}
        self.withdrawn: dict[str, int] = {}
        self.pending_withdrawals: dict[int, dict] = {}

    # ----- keys -----------------------------------------------------------------------------

    def may_trade(self, signer: str) -> bool:
        """The owner and its delegates may trade and cancel."""
        return isinstance(signer, str) and (signer == self.owner or signer in self.delegates)

    @event("DelegateAdded")
    def add_delegate(self, at: int, seq: int, delegate: str) -> None:
        """Allow a key to trade (never to withdraw, transfer or manage delegates)."""
        self.delegates.add(delegate)

    @event("DelegateRemoved")
    def remove_delegate(self, at: int, seq: int, delegate: str) -> None:
        """Revoke a delegate key."""
        self.delegates.discard(delegate)

    # ----- collateral -----------------------------------------------------------------------

    def sub(self, sub_account: int) -> SubAccount | None:
        """A sub-account, or None if it does not exist."""
        return self.sub_accounts.get(sub_account)

    @event("SubAccountOpened")
    def open_sub_account(self, at: int, seq: int, sub_account: int) -> None:
        """Create an empty numbered sub-account."""
        self.sub_accounts[sub_account] = SubAccount()

    @event("Deposited")
    def deposit(self, at: int, seq: int, sub_account: int, asset: str, amount: int, reference: str | None) -> None:
        """Credit collateral (opens the sub-account on first use)."""
        sub = self.sub_accounts.setdefault(sub_account, SubAccount())
        sub.balances[asset] = sub.balance(asset) + amount
        self.deposited[asset] = self.deposited.get(asset, 0) + amount

    @event("WithdrawalRequested")
    def request_withdrawal(
        self, at: int, seq: int, sub_account: int, asset: str, amount: int, withdrawal_id: int, destination: str
    ) -> None:
        """Debit collateral now; the on-chain settler pays it out to `destination`."""
        sub = self.sub_accounts[sub_account]
        sub.balances[asset] = sub.balance(asset) - amount
        self.withdrawn[asset] = self.withdrawn.get(asset, 0) + amount
        self.pending_withdrawals[withdrawal_id] = {
            "sub_account": sub_account, "asset": asset, "amount": amount, "destination": destination,
        }

    @event("Withdrawn")
    def complete_withdrawal(
        self, at: int, seq: int, sub_account: int, asset: str, amount: int, withdrawal_id: int, chain_tx: str | None
    ) -> None:
        """The payout of a pending withdrawal was confirmed on chain."""
        del self.pending_withdrawals[withdrawal_id]

    @event("WithdrawalRefunded")
    def refund_withdrawal(
        self, at: int, seq: int, sub_account: int, asset: str, amount: int, withdrawal_id: int, reason: str
    ) -> None:
        """A pending withdrawal could not be paid out: the collateral comes back."""
        del self.pending_withdrawals[withdrawal_id]
        sub = self.sub_accounts[sub_account]
        sub.balances[asset] = sub.balance(asset) + amount
        self.withdrawn[asset] -= amount

    @event("Transferred")
    def transfer(self, at: int, seq: int, from_sub_account: int, to_sub_account: int, asset: str, amount: int) -> None:
        """Move collateral between two of this owner's sub-accounts (opens the target)."""
        source = self.sub_accounts[from_sub_account]
        target = self.sub_accounts.setdefault(to_sub_account, SubAccount())
        source.balances[asset] = source.balance(asset) - amount
        target.balances[asset] = target.balance(asset) + amount

    # ----- trading --------------------------------------------------------------------------

    @event("TradeSettled")
    def settle_trades(self, at: int, seq: int, market: str, settlements: list) -> None:
        """Apply the fills of one command to this owner's sub-accounts: new position, realized
        PnL and fees settled into USDC (see `domain.settlement`)."""
        for settlement in settlements:
            sub = self.sub_accounts.setdefault(settlement["sub_account"], SubAccount())
            position = sub.positions.setdefault(market, Position())
            position.base = settlement["base_after"]
            position.entry_notional = settlement["entry_notional_after"]
            position.realized_pnl += settlement["realized_pnl"]
            position.fees_paid += settlement["fees"]
            usdc = SETTLEMENT_ASSET.value
            sub.balances[usdc] = sub.balance(usdc) + settlement["realized_pnl"] - settlement["fees"]

    # ----- risk: funding, liquidation, bankruptcy ----------------------------------------------

    @event("FundingPaid")
    def pay_funding(
        self, at: int, seq: int, sub_account: int, market: str, rate: int, amount: int, position_size: int,
        period: int, index_price: int,
    ) -> None:
        """One position's funding (amount > 0 received, < 0 paid), settled into USDC."""
        self._credit_usdc(sub_account, amount)

    @event("Liquidated")
    def liquidate(
        self, at: int, seq: int, sub_account: int, market: str, size: int, side: str, price: int,
        base_after: int, entry_notional_after: int, realized_pnl: int, penalty: int, liquidator_reward: int,
        insurance_fee: int, liquidator: str, reason: str, margin_ratio_bps: int | None,
        maintenance_margin: int, collateral_value: int, mark_price: int, oracle_price: int,
        oracle_confidence: int, oracle_validity: str, oracle_publish_time: int,
    ) -> None:
        """Part (or all) of a position taken over by a liquidator at `price`; the inputs that
        decided it are the event's fields. Realized PnL and the penalty settle into USDC."""
        position = self._position(sub_account, market)
        position.base = base_after
        position.entry_notional = entry_notional_after
        position.realized_pnl += realized_pnl
        self._credit_usdc(sub_account, realized_pnl - penalty)

    @event("LiquidationTakenOver")
    def take_over(
        self, at: int, seq: int, sub_account: int, market: str, size: int, side: str, price: int,
        base_after: int, entry_notional_after: int, realized_pnl: int, reward: int, liquidated: str,
    ) -> None:
        """The liquidator's side: the position taken over, and its reward, in USDC."""
        position = self._position(sub_account, market)
        position.base = base_after
        position.entry_notional = entry_notional_after
        position.realized_pnl += realized_pnl
        self._credit_usdc(sub_account, realized_pnl + reward)

    @event("DeficitCovered")
    def cover_deficit(
        self, at: int, seq: int, sub_account: int, deficit: int, insurance_covered: int, adl_covered: int,
        unresolved: int, deleveraged: list,
    ) -> None:
        """A bankrupt sub-account's negative balance made whole by the insurance fund and ADL."""
        self._credit_usdc(sub_account, insurance_covered + adl_covered)

    @event("AutoDeleveraged")
    def deleverage(
        self, at: int, seq: int, sub_account: int, market: str, amount: int, position_size: int,
        unrealized_pnl: int, score: int, bankrupt: str,
    ) -> None:
        """ADL: `amount` of this position's unrealized profit paid to cover a bankrupt account."""
        self._credit_usdc(sub_account, -amount)

    def _credit_usdc(self, sub_account: int, amount: int) -> None:
        sub = self.sub_accounts.setdefault(sub_account, SubAccount())
        usdc = SETTLEMENT_ASSET.value
        sub.balances[usdc] = sub.balance(usdc) + amount

    def _position(self, sub_account: int, market: str) -> Position:
        sub = self.sub_accounts.setdefault(sub_account, SubAccount())
        return sub.positions.setdefault(market, Position())

    @event("DeadManSwitchSet")
    def set_dead_man_switch(self, at: int, seq: int, fires_at: int | None) -> None:
        """Cancel all of this owner's orders at `fires_at` unless renewed (None disarms)."""
        self.dead_man_fires_at = fires_at

    @event("DeadManSwitchFired")
    def fire_dead_man_switch(self, at: int, seq: int, cancelled_order_ids: list) -> None:
        """The switch fired: the listed orders were cancelled; it is now disarmed."""
        self.dead_man_fires_at = None

    @event("CommandRejected")
    def record_rejection(
        self, at: int, seq: int, command: str, reason: str, detail: str, sub_account: int | None,
        market: str | None, client_order_id: str | None,
    ) -> None:
        """A refused command, kept in the log with its reason code (state unchanged)."""

    def restore_snapshot_state(self, state: dict) -> None:
        """Rebuild from `to_state()` data (aggregate snapshots)."""
        self.owner = state["owner"]
        self.delegates = set(state["delegates"])
        self.sub_accounts = {}
        for number, data in state["sub_accounts"].items():
            sub = SubAccount()
            sub.balances = dict(data["balances"])
            sub.positions = {m: Position(**p) for m, p in data["positions"].items()}
            self.sub_accounts[int(number)] = sub
        self.dead_man_fires_at = state["dead_man_fires_at"]
        self.deposited = dict(state["deposited"])
        self.withdrawn = dict(state["withdrawn"])
        pending = state.get("pending_withdrawals", {})  # absent from snapshots older than it
        self.pending_withdrawals = {int(i): dict(w) for i, w in pending.items()}

    def to_state(self) -> dict:
        """Canonical plain state for the state hash."""
        return {
            "owner": self.owner,
            "delegates": sorted(self.delegates),
            "sub_accounts": {str(n): s.to_state() for n, s in sorted(self.sub_accounts.items())},
            "dead_man_fires_at": self.dead_man_fires_at,
            "deposited": dict(sorted(self.deposited.items())),
            "withdrawn": dict(sorted(self.withdrawn.items())),
            "pending_withdrawals": {str(i): dict(w) for i, w in sorted(self.pending_withdrawals.items())},
        }


# Recorded for (nearly) every order: the lighter trigger of domain.aggregate, same events.
hot_path(Account, "settle_trades", "record_rejection")
