"""The Market aggregate's plain state: the canonical form hashed by `domain.state_hash`, and the
snapshot form it is rebuilt from.

Both are plain data (ints, strs, bools, None, lists, str-keyed dicts). The risk fields sit under
"risk"; a snapshot taken before they existed has no "risk" key and restores them to their
defaults (the Market's class attributes say the same).
"""

from .book import OrderBook, TriggerBook
from .market_params import MarketParams, MarketStatus


class MarketStateForms:
    """Mixin of the Market aggregate: its state as plain data, and back."""

    def to_state(self) -> dict:
        """Canonical plain state for the state hash."""
        return {
            "symbol": self.symbol,
            "params": self.params.to_payload(),
            "status": str(self.status),
            "fee_pool": self.fee_pool,
            "last_trade_price": self.last_trade_price,
            "reduce_only_ids": sorted(self.reduce_only_ids),
            "book": self.book.canonical(),
            "triggers": self.triggers.canonical(),
            "risk": {
                "mark_twap": self.mark_twap,
                "mark_twap_at": self.mark_twap_at,
                "last_funding_period": self.last_funding_period,
                "cumulative_funding_rate": self.cumulative_funding_rate,
                "breaker_prior_status": self.breaker_prior_status,
            },
        }

    def snapshot_state(self) -> dict:
        """Plain data for aggregate snapshots (the books' own snapshot forms)."""
        state = self.to_state()
        state["book"] = self.book.snapshot()
        state["triggers"] = self.triggers.snapshot()
        return state

    def restore_snapshot_state(self, state: dict) -> None:
        """Rebuild from `snapshot_state()` data."""
        self.symbol = state["symbol"]
        self.params = MarketParams.from_payload(state["params"])
        self.status = MarketStatus(state["status"])
        self.book = OrderBook.restore(state["book"])
        self.triggers = TriggerBook.restore(state["triggers"])
        self.fee_pool = state["fee_pool"]
        self.last_trade_price = state["last_trade_price"]
        self.reduce_only_ids = set(state["reduce_only_ids"])
        self._live_result = None
        risk = state.get("risk", {})
        self.mark_twap = risk.get("mark_twap")
        self.mark_twap_at = risk.get("mark_twap_at")
        self.last_funding_period = risk.get("last_funding_period", 0)
        self.cumulative_funding_rate = risk.get("cumulative_funding_rate", 0)
        self.breaker_prior_status = risk.get("breaker_prior_status")
