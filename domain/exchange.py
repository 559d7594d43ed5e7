"""The Exchange domain service: every aggregate in memory and one method per use case.

PUBLIC API (stable; the engine, projections and auditors build on it)
--------------------------------------------------------------------
Every use case takes the command's `at` (int ns, from the commands stream) and `seq` (int, the
command's sequence) first, then keyword arguments. It either records events on aggregates or
raises `domain.rejections.Rejected(reason: RejectReason, detail)`; a rejection of a command that
names an existing account is also recorded as `Account.CommandRejected`, so after a rejection
the caller must still `collect_changed()` and save. A rejection never leaves other changes.
Order ids are the `seq` of the command that placed the order. `signer` is the public key that
signed the command (verified by the engine); None means the owner.

  Lifecycle:   Exchange(); Exchange.from_aggregates(iterable); all_aggregates();
               collect_changed() -> aggregates with pending events (save them together);
               state_hash() -> sha256 hex of the canonical state.
  Admin:       create_market(symbol, base_asset, tick_size, lot_size, min_size, max_leverage,
                 initial_margin_bps, maintenance_margin_bps, maker_fee_bps, taker_fee_bps,
                 margin_tiers=None); change_market(symbol, changes); set_market_status(symbol,
                 status); set_oracle_price(symbol, price, confidence=0, publish_time=None,
                 exponent=-6) (Pyth-shaped; accepted or refused with its validity, see
                 oracle_use_cases); fund_insurance(amount)
  Risk:        risk_sweep(at, seq, liquidator=None) (validity, circuit breakers, triggers, and
                 liquidations when a liquidator "owner/sub" is given); settle_funding(market=None);
                 liquidate(owner, sub_account, liquidator_owner, liquidator_sub_account, signer);
                 liquidatable(at); oracle_validity(symbol, at); trading_allowed / margin_price_usable
  Accounts:    open_account(owner); add_delegate / remove_delegate(owner, delegate, signer);
               open_sub_account(owner, sub_account, signer); deposit(owner, sub_account, asset,
               amount, reference=None); request_withdrawal(owner, sub_account, asset, amount,
               destination=None, signer) -> withdrawal id; transfer(owner, from_sub_account,
               to_sub_account, asset, amount, signer)
  Settler:     complete_withdrawal(owner, withdrawal_id, chain_tx=None); refund_withdrawal(owner,
               withdrawal_id, reason) (operator commands from the on-chain settler);
               propose_settlement_batch(sequence, first_position, last_position, log_hash,
               previous_hash, withdrawal_ids); record_settlement_batch(sequence, log_hash, chain_tx)
  Orders:      place_order(owner, sub_account, market, side, size, price, order_type="limit",
                 time_in_force="gtc", post_only="off", self_trade="cancel_taker",
                 reduce_only=False, client_order_id=None, expires_at=None, trigger_price=None,
                 trail_amount=None, trail_bps=None, signer) -> OrderOutcome;
               cancel_order(owner, sub_account, market, order_id=None, client_order_id=None,
                 signer) -> list of cancelled ids; cancel_all(owner, sub_account=None,
                 market=None, signer) -> ids; modify_order(owner, sub_account, market, order_id=None,
                 client_order_id=None, new_price, new_size, signer) -> OrderOutcome;
               set_dead_man_switch(owner, fires_at, signer); expire(at, seq) -> ExpirySweep
  Queries:     market(symbol), account(owner), oracle(symbol), margin(owner, sub_account)
               -> MarginSummary, open_orders(owner, sub_account), mark_price(symbol),
               collateral_prices()   (mark: median(oracle, bid, ask) within oracle +/- 5%)
  Risk hooks:  submit_book_order(at, seq, market, order_payload) (fired triggers, liquidation
               orders); domain.margin functions; Market.triggers (the off-book TriggerBook).

Client order ids are unique among the live orders (resting or waiting) of one sub-account.
Market orders need `price` as their protective worst price. Prices 1e6, sizes 1e9, amounts in
the asset's native units (USDC 1e6, SOL 1e9, BTC/ETH 1e8). The use cases live in three mixins
(`account_use_cases`, `order_use_cases`, `time_use_cases`) so each module stays small.
"""

import heapq
from typing import Iterable

from .account import Account
from .account_use_cases import AccountUseCases
from .collateral import asset_price
from .funding_use_cases import FundingUseCases
from .liquidation_use_cases import LiquidationUseCases
from .mark_bands import MarkBands
from .margin_scan import MarginScan
from .ids import Asset, is_valid_market_symbol
from .market import Market
from .market_params import MarketParams, MarketStatus, check_market_params
from .numbers import MAX_AMOUNT
from .oracle import InsuranceFund, Oracle
from .oracle_use_cases import OracleUseCases
from .order_use_cases import OrderOutcome, OrderUseCases
from .rejections import RejectReason, Rejected
from .state_hash import state_hash
from .time_use_cases import ExpirySweep, TimeUseCases
from .settlement_batches import Settlement
from .settlement_use_cases import SettlementUseCases

_COLLATERAL_SYMBOLS = frozenset(a.value for a in Asset)

__all__ = ["Exchange", "ExpirySweep", "OrderOutcome", "Rejected", "RejectReason"]


class Exchange(AccountUseCases, OrderUseCases, TimeUseCases, OracleUseCases, FundingUseCases, LiquidationUseCases,
               MarginScan, SettlementUseCases):
    """All of the exchange's aggregates, in memory, and the use cases over them."""

    def __init__(self) -> None:
        self.markets: dict[str, Market] = {}
        self.accounts: dict[str, Account] = {}
        self.oracles: dict[str, Oracle] = {}
        self.insurance_fund: InsuranceFund | None = None
        self.settlement: Settlement | None = None  # the on-chain batch record (settler)
        self._changed: dict[object, object] = {}
        # Armed dead-man switches: owner -> fires_at, and a heap of (fires_at, owner) with lazy
        # deletion, so the sweep that runs before every command costs O(1) when nothing is due.
        self._dead_man: dict[str, int] = {}
        self._dead_man_heap: list[tuple[int, str]] = []
        self._mark_bands = MarkBands()  # which sub-accounts a liquidation sweep may skip

    # ----- lifecycle ------------------------------------------------------------------------

    @classmethod
    def from_aggregates(cls, aggregates: Iterable[object]) -> "Exchange":
        """Rebuild the service from aggregates loaded from the store (any order)."""
        exchange = cls()
        for aggregate in aggregates:
            if isinstance(aggregate, Market):
                exchange.markets[aggregate.symbol] = aggregate
            elif isinstance(aggregate, Account):
                exchange.accounts[aggregate.owner] = aggregate
                if aggregate.dead_man_fires_at is not None:
                    exchange._arm_dead_man(aggregate.owner, aggregate.dead_man_fires_at)
            elif isinstance(aggregate, Oracle):
                exchange.oracles[aggregate.symbol] = aggregate
            elif isinstance(aggregate, InsuranceFund):
                exchange.insurance_fund = aggregate
            elif isinstance(aggregate, Settlement):
                exchange.settlement = aggregate
            else:
                raise TypeError(f"not an aggregate of this domain: {type(aggregate).__name__}")
        return exchange

    def all_aggregates(self) -> list:
        """Every aggregate, in a deterministic order (markets, accounts, oracles, fund)."""
        aggregates: list = [self.markets[s] for s in sorted(self.markets)]
        aggregates += [self.accounts[o] for o in sorted(self.accounts)]
        aggregates += [self.oracles[s] for s in sorted(self.oracles)]
        if self.insurance_fund is not None:
            aggregates.append(self.insurance_fund)
        if self.settlement is not None:
            aggregates.append(self.settlement)
        return aggregates

    def collect_changed(self) -> list:
        """The aggregates with pending events since the last call, in the order they changed;
        pass them all to one `Application.save(*aggregates)`."""
        changed = [a for a in self._changed.values() if a.pending_events]  # type: ignore[attr-defined]
        self._changed.clear()
        return changed

    def state_hash(self) -> str:
        """sha256 hex of the whole canonical domain state (see domain.state_hash)."""
        return state_hash(self)

    def _arm_dead_man(self, owner: str, fires_at: int | None) -> None:
        if fires_at is None:
            self._dead_man.pop(owner, None)
        else:
            self._dead_man[owner] = fires_at
            heapq.heappush(self._dead_man_heap, (fires_at, owner))

    def _due_dead_man(self, at: int) -> list[str]:
        """Owners whose switch fires at or before `at`, by (fires_at, owner); disarms them."""
        due = []
        heap = self._dead_man_heap
        while heap and heap[0][0] <= at:
            fires_at, owner = heapq.heappop(heap)
            if self._dead_man.get(owner) == fires_at:
                del self._dead_man[owner]
                due.append(owner)
        return due

    def _touch(self, aggregate: object) -> None:
        self._changed.setdefault(aggregate.id, aggregate)  # type: ignore[attr-defined]

    # ----- admin ----------------------------------------------------------------------------

    def create_market(
        self, at: int, seq: int, *, symbol: str, base_asset: str, tick_size: int, lot_size: int,
        min_size: int, max_leverage: int, initial_margin_bps: int, maintenance_margin_bps: int,
        maker_fee_bps: int = 0, taker_fee_bps: int = 0, margin_tiers: list | None = None,
    ) -> Market:
        """Open a new perpetual market (active). Rejects MarketExists, InvalidMarketParams,
        LeverageTooHigh."""
        if not is_valid_market_symbol(symbol):
            raise Rejected(RejectReason.INVALID_MARKET_PARAMS, f"bad market symbol {symbol!r}")
        if symbol in self.markets:
            raise Rejected(RejectReason.MARKET_EXISTS, symbol)
        if margin_tiers is not None and not isinstance(margin_tiers, list):
            raise Rejected(RejectReason.INVALID_MARKET_PARAMS, "margin tiers must be a list")
        params = MarketParams(
            base_asset=base_asset, tick_size=tick_size, lot_size=lot_size, min_size=min_size,
            max_leverage=max_leverage, initial_margin_bps=initial_margin_bps,
            maintenance_margin_bps=maintenance_margin_bps, maker_fee_bps=maker_fee_bps,
            taker_fee_bps=taker_fee_bps,
            margin_tiers=[dict(t) if isinstance(t, dict) else t for t in margin_tiers or []],
        )
        check_market_params(params)
        market = Market(at=at, seq=seq, symbol=symbol, params=params.to_payload())
        self.markets[symbol] = market
        self._touch(market)
        return market

    def change_market(self, at: int, seq: int, *, symbol: str, changes: dict) -> None:
        """Change some parameters of a market (validated as a whole)."""
        market = self._market(symbol)
        if not isinstance(changes, dict) or not changes:
            raise Rejected(RejectReason.INVALID_MARKET_PARAMS, "no changes")
        check_market_params(market.params.changed(changes))
        market.change_parameters(at=at, seq=seq, changes=dict(changes))
        self._touch(market)

    def set_market_status(self, at: int, seq: int, *, symbol: str, status: str) -> None:
        """Set a market active, reduce-only or paused."""
        market = self._market(symbol)
        if not isinstance(status, str) or status not in {s.value for s in MarketStatus}:
            raise Rejected(RejectReason.INVALID_MARKET_PARAMS, f"unknown status {status!r}")
        if market.status != status:
            market.set_status(at=at, seq=seq, status=status)
            self._touch(market)

    def fund_insurance(self, at: int, seq: int, *, amount: int) -> None:
        """Top up the insurance fund with USDC from outside (admin)."""
        if type(amount) is not int or not 0 < amount <= MAX_AMOUNT:
            raise Rejected(RejectReason.INVALID_AMOUNT, "amount must be a positive int")
        if self.insurance_fund is None:
            self.insurance_fund = InsuranceFund(at=at, seq=seq)
        self.insurance_fund.fund(at=at, seq=seq, amount=amount)
        self._touch(self.insurance_fund)

    # ----- queries --------------------------------------------------------------------------

    def market(self, symbol: str) -> Market | None:
        """A market by symbol, or None."""
        return self.markets.get(symbol)

    def account(self, owner: str) -> Account | None:
        """An account by owner, or None."""
        return self.accounts.get(owner)

    def oracle(self, symbol: str) -> Oracle | None:
        """An oracle by symbol, or None."""
        return self.oracles.get(symbol)

    def collateral_prices(self, fresh_at: int | None = None) -> dict[str, int]:
        """The oracle price (1e6) of every collateral asset that has one; with `fresh_at`, only
        of those whose price is fit for new risk then (a stale collateral price backs none)."""
        return {symbol: oracle.price for symbol, oracle in self.oracles.items()
                if symbol in _COLLATERAL_SYMBOLS and (fresh_at is None or self.price_fit_for_trading(oracle, fresh_at))}

    def unfit_collateral(self, balances: dict[str, int], at: int) -> list[str]:
        """The held collateral assets (positive balance) whose price is not fit for new risk at `at`."""
        return [f"{asset} {self.price_validity(self.oracles[asset], at)}" for asset, amount in sorted(balances.items())
                if amount > 0 and asset in self.oracles and asset_price(asset, {}) == 0  # USDC is worth 1 unpriced
                and not self.price_fit_for_trading(self.oracles[asset], at)]

    def _market(self, symbol: str) -> Market:
        market = self.markets.get(symbol) if isinstance(symbol, str) else None
        if market is None:
            raise Rejected(RejectReason.UNKNOWN_MARKET, f"no market {symbol!r}")
        return market
