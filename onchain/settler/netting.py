"""Netting the event log into settlement deltas (pure: no I/O, no clock).

What moves money on chain, per account event (owner = the subject's key):
- `TradeSettled`: each sub-account gets realized PnL minus fees in USDC; the fees go to the
  exchange's fee account.
- `FundingPaid`: the signed amount in USDC (shape expected from the risk issue: sub_account, amount).
- `Liquidated`: realized PnL minus penalty in USDC; `LiquidationTakenOver` (the liquidator):
  realized PnL plus reward; `DeficitCovered`: insurance + ADL cover; `AutoDeleveraged`: − amount.
- `Transferred`: between two sub-accounts of one owner (two on-chain user accounts).
- `WithdrawalRequested`: a payout (a withdrawal of the batch, paid from the vault), not a delta.
- `Deposited`: nothing — the program credited it on chain when the deposit happened.
- `Withdrawn` / `WithdrawalRefunded` (domain, pending-withdrawal outcomes): nothing — the payout
  already left in its batch, or (refund) was never paid, so the chain never debited it.

Invariant: per asset, user deltas + fee account + pool account sum to zero (the program checks
it). The pool account (the insurance fund / PnL pool) takes the opposite of everything that is
not a fee: realized PnL does not net to zero within a batch (a counterparty's gain can still be
unrealized), funding and liquidation penalties. Known limit: the pool must hold enough on chain
to absorb the net realized profit of a batch, else the program refuses it (Overdraw).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

SETTLEMENT_ASSET = "USDC"  # domain.ids.SETTLEMENT_ASSET (PnL, fees and funding settle in it)
MAX_ONCHAIN_SUB_ACCOUNT = 255  # the user account PDA seed holds one byte


@dataclass(frozen=True, order=True)
class AccountKey:
    """A domain sub-account: (owner pubkey, sub-account number)."""

    owner: str
    sub_account: int


@dataclass(frozen=True)
class Payout:
    """An approved withdrawal to pay out of the vault in a batch."""

    account: AccountKey
    asset: str
    amount: int
    withdrawal_id: int
    destination: str


class CannotSettle(Exception):
    """An event the chain cannot represent (named, so the settler stops loudly)."""


@dataclass
class Netting:
    """Deltas and payouts accumulated since the last batch, and the log position they reach."""

    fee_account: AccountKey
    pool_account: AccountKey
    deltas: dict[tuple[AccountKey, str], int] = field(default_factory=lambda: defaultdict(int))
    fees: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    payouts: list[Payout] = field(default_factory=list)
    last_position: int = 0

    def apply(self, owner: str, event_type: str, payload: dict, position: int) -> None:
        """Fold one account event in (events of other types change nothing)."""
        handler = getattr(self, f"_on_{event_type}", None)
        if handler is not None:
            handler(owner, payload)
        self.last_position = max(self.last_position, position)

    def _credit(self, owner: str, sub_account: int, asset: str, amount: int) -> None:
        account = _account(owner, sub_account)
        self.deltas[(account, asset)] += amount

    def _on_TradeSettled(self, owner: str, payload: dict) -> None:
        for settlement in payload["settlements"]:
            fees = int(settlement["fees"])
            self._credit(owner, int(settlement["sub_account"]), SETTLEMENT_ASSET,
                         int(settlement["realized_pnl"]) - fees)
            self.fees[SETTLEMENT_ASSET] += fees

    def _on_FundingPaid(self, owner: str, payload: dict) -> None:
        self._credit(owner, int(payload.get("sub_account") or 0), SETTLEMENT_ASSET, int(payload["amount"]))

    def _on_Liquidated(self, owner: str, payload: dict) -> None:
        amount = int(payload.get("realized_pnl") or 0) - int(payload.get("penalty") or 0)
        self._credit(owner, int(payload.get("sub_account") or 0), SETTLEMENT_ASSET, amount)

    def _on_LiquidationTakenOver(self, owner: str, payload: dict) -> None:
        amount = int(payload.get("realized_pnl") or 0) + int(payload.get("reward") or 0)
        self._credit(owner, int(payload.get("sub_account") or 0), SETTLEMENT_ASSET, amount)

    def _on_DeficitCovered(self, owner: str, payload: dict) -> None:
        amount = int(payload.get("insurance_covered") or 0) + int(payload.get("adl_covered") or 0)
        self._credit(owner, int(payload.get("sub_account") or 0), SETTLEMENT_ASSET, amount)

    def _on_AutoDeleveraged(self, owner: str, payload: dict) -> None:
        self._credit(owner, int(payload.get("sub_account") or 0), SETTLEMENT_ASSET, -int(payload["amount"]))

    def _on_Transferred(self, owner: str, payload: dict) -> None:
        asset, amount = str(payload["asset"]), int(payload["amount"])
        self._credit(owner, int(payload["from_sub_account"]), asset, -amount)
        self._credit(owner, int(payload["to_sub_account"]), asset, amount)

    def _on_WithdrawalRequested(self, owner: str, payload: dict) -> None:
        self.payouts.append(Payout(_account(owner, int(payload.get("sub_account") or 0)), str(payload["asset"]),
                                   int(payload["amount"]), int(payload["withdrawal_id"]),
                                   str(payload.get("destination") or owner)))

    # --- the batch's entries ------------------------------------------------------------------
    def entries(self) -> list[tuple[AccountKey, str, int]]:
        """Non-zero (account, asset, delta) including the fee and pool counter-entries, credits
        first (each delta is checked against overdraw as it is applied on chain)."""
        totals: dict[tuple[AccountKey, str], int] = defaultdict(int)
        for (account, asset), amount in self.deltas.items():
            totals[(account, asset)] += amount
        for asset in {asset for _, asset in self.deltas} | set(self.fees):
            user_sum = sum(amount for (account, a), amount in self.deltas.items() if a == asset)
            totals[(self.fee_account, asset)] += self.fees.get(asset, 0)
            totals[(self.pool_account, asset)] -= user_sum + self.fees.get(asset, 0)
        entries = [(account, asset, amount) for (account, asset), amount in totals.items() if amount]
        return sorted(entries, key=lambda entry: (-entry[2], entry[0], entry[1]))

    def accounts(self) -> set[AccountKey]:
        """Every user account the batch touches (deltas and payouts)."""
        return {account for account, _, _ in self.entries()} | {payout.account for payout in self.payouts}

    def is_empty(self) -> bool:
        return not self.entries() and not self.payouts


def _account(owner: str, sub_account: int) -> AccountKey:
    if not 0 <= sub_account <= MAX_ONCHAIN_SUB_ACCOUNT:
        raise CannotSettle(f"sub-account {sub_account} of {owner} has no on-chain user account (max 255)")
    return AccountKey(owner, sub_account)
