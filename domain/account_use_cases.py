"""Account use cases of the Exchange: opening, delegates, sub-accounts, deposits, withdrawals,
transfers, and the margin view every check uses.

Authorization: the owner may do everything; a delegate may trade and cancel only
(DelegateCannotWithdraw for withdrawals and transfers, NotAuthorized for key management).
Withdrawals and transfers only take from free collateral: the sub-account must still meet
initial margin afterwards, and the asset balance never goes negative.
"""

from contextlib import contextmanager
from typing import Iterator

from .account import Account
from .book import Side
from .ids import MAX_SUB_ACCOUNTS, Asset, book_account_key, is_valid_owner
from .margin import Exposure, MarginEnv, MarginSummary, free_collateral, summarize
from .numbers import MAX_AMOUNT
from .rejections import RejectReason, Rejected


ASSETS = frozenset(a.value for a in Asset)
MAX_REFERENCE_LENGTH = 128


class AccountUseCases:
    """Mixin of `Exchange` (which provides the aggregate dictionaries and `_touch`)."""

    # ----- use cases ------------------------------------------------------------------------

    def open_account(self, at: int, seq: int, *, owner: str) -> Account:
        """Open the account of an owner (with sub-account 0). Rejects InvalidOwner, AccountExists."""
        if not is_valid_owner(owner):
            raise Rejected(RejectReason.INVALID_OWNER, "owner must be a base58 public key")
        if owner in self.accounts:
            raise Rejected(RejectReason.ACCOUNT_EXISTS, owner)
        account = Account(at=at, seq=seq, owner=owner)
        self.accounts[owner] = account
        self._touch(account)
        return account

    def add_delegate(self, at: int, seq: int, *, owner: str, delegate: str, signer: str | None = None) -> None:
        """Let another key trade for this owner (owner only)."""
        with self._rejecting(at, seq, "AddDelegate", owner):
            account = self._owned_account(owner, signer, management=True)
            if not is_valid_owner(delegate) or delegate == owner:
                raise Rejected(RejectReason.INVALID_OWNER, "delegate must be another base58 public key")
        if delegate not in account.delegates:
            account.add_delegate(at=at, seq=seq, delegate=delegate)
            self._touch(account)

    def remove_delegate(self, at: int, seq: int, *, owner: str, delegate: str, signer: str | None = None) -> None:
        """Revoke a delegate key (owner only)."""
        with self._rejecting(at, seq, "RemoveDelegate", owner):
            account = self._owned_account(owner, signer, management=True)
            if not isinstance(delegate, str):
                raise Rejected(RejectReason.INVALID_OWNER, "delegate must be a base58 public key")
        if delegate in account.delegates:
            account.remove_delegate(at=at, seq=seq, delegate=delegate)
            self._touch(account)

    def open_sub_account(self, at: int, seq: int, *, owner: str, sub_account: int, signer: str | None = None) -> None:
        """Create a numbered sub-account explicitly (they are also created on first deposit)."""
        with self._rejecting(at, seq, "OpenSubAccount", owner, sub_account):
            account = self._owned_account(owner, signer, management=True)
            self._check_sub_number(sub_account)
            if account.sub(sub_account) is not None:
                raise Rejected(RejectReason.ACCOUNT_EXISTS, f"sub-account {sub_account} exists")
        account.open_sub_account(at=at, seq=seq, sub_account=sub_account)
        self._touch(account)

    def deposit(
        self, at: int, seq: int, *, owner: str, sub_account: int, asset: str, amount: int, reference: str | None = None
    ) -> None:
        """Credit collateral observed on-chain; opens the account if needed (money is never
        refused for lack of an account)."""
        if not is_valid_owner(owner):
            raise Rejected(RejectReason.INVALID_OWNER, "owner must be a base58 public key")
        with self._rejecting(at, seq, "Deposit", owner, sub_account):
            self._check_sub_number(sub_account)
            self._check_asset_amount(asset, amount)
            if reference is not None and (not isinstance(reference, str) or len(reference) > MAX_REFERENCE_LENGTH):
                raise Rejected(RejectReason.INVALID_AMOUNT, f"reference must be a string of <= {MAX_REFERENCE_LENGTH}")
        account = self.accounts.get(owner)
        if account is None:
            account = self.open_account(at, seq, owner=owner)
        account.deposit(at=at, seq=seq, sub_account=sub_account, asset=asset, amount=amount, reference=reference)
        self._touch(account)

    def request_withdrawal(
        self, at: int, seq: int, *, owner: str, sub_account: int, asset: str, amount: int,
        destination: str | None = None, signer: str | None = None,
    ) -> int:
        """Debit free collateral for an on-chain payout; returns the withdrawal id (= seq)."""
        with self._rejecting(at, seq, "RequestWithdrawal", owner, sub_account):
            account = self._owned_account(owner, signer, management=False)
            self._check_asset_amount(asset, amount)
            if destination is not None and not is_valid_owner(destination):
                raise Rejected(RejectReason.INVALID_OWNER, "destination must be a base58 public key")
            self._check_can_take(account, sub_account, asset, amount, at)
        account.request_withdrawal(
            at=at, seq=seq, sub_account=sub_account, asset=asset, amount=amount, withdrawal_id=seq,
            destination=destination or owner,
        )
        self._touch(account)
        return seq

    def complete_withdrawal(
        self, at: int, seq: int, *, owner: str, withdrawal_id: int, chain_tx: str | None = None
    ) -> None:
        """The settler confirms a pending withdrawal was paid out on chain (operator command)."""
        with self._rejecting(at, seq, "CompleteWithdrawal", owner):
            account, pending = self._pending_withdrawal(owner, withdrawal_id)
            if chain_tx is not None and (not isinstance(chain_tx, str) or len(chain_tx) > MAX_REFERENCE_LENGTH):
                raise Rejected(RejectReason.INVALID_AMOUNT, "chain_tx must be a short string")
        account.complete_withdrawal(
            at=at, seq=seq, sub_account=pending["sub_account"], asset=pending["asset"], amount=pending["amount"],
            withdrawal_id=withdrawal_id, chain_tx=chain_tx,
        )
        self._touch(account)

    def refund_withdrawal(self, at: int, seq: int, *, owner: str, withdrawal_id: int, reason: str) -> None:
        """The settler gives up on a pending withdrawal: its collateral is credited back."""
        with self._rejecting(at, seq, "RefundWithdrawal", owner):
            account, pending = self._pending_withdrawal(owner, withdrawal_id)
            if not isinstance(reason, str) or len(reason) > MAX_REFERENCE_LENGTH:
                raise Rejected(RejectReason.INVALID_AMOUNT, "reason must be a short string")
        account.refund_withdrawal(
            at=at, seq=seq, sub_account=pending["sub_account"], asset=pending["asset"], amount=pending["amount"],
            withdrawal_id=withdrawal_id, reason=reason,
        )
        self._touch(account)

    def transfer(
        self, at: int, seq: int, *, owner: str, from_sub_account: int, to_sub_account: int, asset: str,
        amount: int, signer: str | None = None,
    ) -> None:
        """Move free collateral between two sub-accounts of one owner."""
        with self._rejecting(at, seq, "Transfer", owner, from_sub_account):
            account = self._owned_account(owner, signer, management=False)
            self._check_sub_number(to_sub_account)
            if from_sub_account == to_sub_account:
                raise Rejected(RejectReason.SAME_SUB_ACCOUNT, "source and target are the same")
            self._check_asset_amount(asset, amount)
            self._check_can_take(account, from_sub_account, asset, amount, at)
        account.transfer(
            at=at, seq=seq, from_sub_account=from_sub_account, to_sub_account=to_sub_account,
            asset=asset, amount=amount,
        )
        self._touch(account)

    # ----- margin view ----------------------------------------------------------------------

    def margin(self, owner: str, sub_account: int) -> MarginSummary:
        """Every margin figure of a sub-account at current marks (UnknownAccount if none)."""
        if owner not in self.accounts:
            raise Rejected(RejectReason.UNKNOWN_ACCOUNT, f"no account {owner!r}")
        sub = self.accounts[owner].sub(sub_account)
        exposures, env = self._margin_inputs(owner, sub_account)
        return summarize(dict(sub.balances) if sub else {}, exposures, env)

    def open_orders(self, owner: str, sub_account: int) -> list:
        """The resting orders (book views) of a sub-account, by market then arrival."""
        key = book_account_key(owner, sub_account)
        return [o for s in sorted(self.markets) for o in self.markets[s].book.orders_of(key)]

    def _margin_inputs(
        self, owner: str, sub_account: int, fallback_mark: tuple[str, int] | None = None,
        fresh_at: int | None = None,
    ) -> tuple[dict[str, Exposure], MarginEnv]:
        """Exposures of a sub-account in every market it touches, and the prices to value them.

        A market without an oracle price or a trade is marked at `fallback_mark` (the order's own
        price) or at the highest price of the account's open orders there."""
        sub = self.accounts[owner].sub(sub_account)
        key = book_account_key(owner, sub_account)
        exposures: dict[str, Exposure] = {}
        marks: dict[str, int] = {}
        for symbol in sorted(self.markets):
            market = self.markets[symbol]
            position = sub.positions.get(symbol) if sub else None
            bids = market.book.open_size(key, Side.BUY)
            asks = market.book.open_size(key, Side.SELL)
            if not bids and not asks and (position is None or position.base == 0):
                continue
            base, entry = (position.base, position.entry_notional) if position else (0, 0)
            exposures[symbol] = Exposure(base=base, entry_notional=entry, open_bids=bids, open_asks=asks)
            mark = self.mark_price(symbol)
            if mark is None and fallback_mark is not None and fallback_mark[0] == symbol:
                mark = fallback_mark[1]
            if mark is None:
                mark = max((o.price for o in market.book.orders_of(key)), default=0)
            marks[symbol] = mark
        if fallback_mark is not None and fallback_mark[0] not in marks:
            marks[fallback_mark[0]] = self.mark_price(fallback_mark[0]) or fallback_mark[1]
        params = {s: self.markets[s].params for s in marks}
        return exposures, MarginEnv(params=params, marks=marks, prices=self.collateral_prices(fresh_at))

    # ----- guards ---------------------------------------------------------------------------

    @contextmanager
    def _rejecting(
        self, at: int, seq: int, command: str, owner: str, sub_account: int | None = None,
        market: str | None = None, client_order_id: str | None = None,
    ) -> Iterator[None]:
        """Record a rejection on the owner's account (if it exists) before re-raising it."""
        try:
            yield
        except Rejected as rejected:
            account = self.accounts.get(owner) if isinstance(owner, str) else None
            if account is not None:
                account.record_rejection(
                    at=at, seq=seq, command=command, reason=rejected.reason.value, detail=rejected.detail,
                    sub_account=sub_account if type(sub_account) is int else None,
                    market=market if isinstance(market, str) else None,
                    client_order_id=client_order_id if isinstance(client_order_id, str) else None,
                )
                self._touch(account)
            raise

    def _owned_account(self, owner: str, signer: str | None, management: bool) -> Account:
        """The account, if the signer is its owner (delegates cannot withdraw nor manage keys)."""
        account = self.accounts.get(owner) if isinstance(owner, str) else None
        if account is None:
            raise Rejected(RejectReason.UNKNOWN_ACCOUNT, f"no account {owner!r}")
        if signer is not None and signer != owner:
            if isinstance(signer, str) and signer in account.delegates and not management:
                raise Rejected(RejectReason.DELEGATE_CANNOT_WITHDRAW, "delegates may only trade")
            raise Rejected(RejectReason.NOT_AUTHORIZED, "only the owner may do this")
        return account

    def _pending_withdrawal(self, owner: str, withdrawal_id: int) -> tuple[Account, dict]:
        account = self.accounts.get(owner) if isinstance(owner, str) else None
        if account is None:
            raise Rejected(RejectReason.UNKNOWN_ACCOUNT, f"no account {owner!r}")
        pending = account.pending_withdrawals.get(withdrawal_id) if type(withdrawal_id) is int else None
        if pending is None:
            raise Rejected(RejectReason.UNKNOWN_WITHDRAWAL, f"no pending withdrawal {withdrawal_id!r}")
        return account, pending

    def _trading_account(self, owner: str, sub_account: int, signer: str | None) -> Account:
        """The account, if the signer may trade for it and the sub-account exists."""
        account = self.accounts.get(owner) if isinstance(owner, str) else None
        if account is None:
            raise Rejected(RejectReason.UNKNOWN_ACCOUNT, f"no account {owner!r}")
        if signer is not None and not account.may_trade(signer):
            raise Rejected(RejectReason.NOT_AUTHORIZED, "signer is neither owner nor delegate")
        if type(sub_account) is not int or account.sub(sub_account) is None:
            raise Rejected(RejectReason.UNKNOWN_SUB_ACCOUNT, f"no sub-account {sub_account!r}")
        return account

    @staticmethod
    def _check_sub_number(sub_account: object) -> None:
        if type(sub_account) is not int or not 0 <= sub_account < MAX_SUB_ACCOUNTS:
            raise Rejected(RejectReason.UNKNOWN_SUB_ACCOUNT, f"sub-account must be 0..{MAX_SUB_ACCOUNTS - 1}")

    @staticmethod
    def _check_asset_amount(asset: object, amount: object) -> None:
        if not isinstance(asset, str) or asset not in ASSETS:
            raise Rejected(RejectReason.UNKNOWN_ASSET, f"unknown asset {asset!r}")
        if type(amount) is not int or not 0 < amount <= MAX_AMOUNT:
            raise Rejected(RejectReason.INVALID_AMOUNT, f"amount must be an int in 1..{MAX_AMOUNT}")

    def _check_can_take(self, account: Account, sub_account: int, asset: str, amount: int, at: int) -> None:
        """The sub-account holds the amount and still meets initial margin without it (counting
        only collateral whose price is fit for new risk at `at`)."""
        sub = account.sub(sub_account) if type(sub_account) is int else None
        if sub is None:
            raise Rejected(RejectReason.UNKNOWN_SUB_ACCOUNT, f"no sub-account {sub_account!r}")
        if sub.balance(asset) < amount:
            raise Rejected(RejectReason.INSUFFICIENT_COLLATERAL, f"balance {sub.balance(asset)} < {amount}")
        balances = dict(sub.balances)
        balances[asset] -= amount
        exposures, env = self._margin_inputs(account.owner, sub_account, fresh_at=at)
        if free_collateral(balances, exposures, env) < 0:
            self.blame_unfit_collateral(dict(sub.balances), at)
            raise Rejected(RejectReason.INSUFFICIENT_COLLATERAL, "would leave the sub-account below initial margin")

    def blame_unfit_collateral(self, balances: dict[str, int], at: int) -> None:
        """When margin falls short while held collateral has an unusable price, say so."""
        unfit = self.unfit_collateral(balances, at)
        if unfit:
            raise Rejected(RejectReason.ORACLE_PRICE_INVALID,
                           f"collateral priced too long ago or flagged ({', '.join(unfit)}) backs no new risk")
