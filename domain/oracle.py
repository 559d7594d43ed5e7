"""Price aggregates: one `Oracle` per symbol (asset or perp underlying) and the single
`InsuranceFund`.

For now an oracle price is set by an admin/feed command: price (1e6), confidence (1e6) and the
publisher's time (ns). The risk engine (issue 4) adds validity (staleness, confidence, volatility)
on top of these events; `to_state` is what it will extend.
"""

from eventsourcing.domain import event

from .aggregate import DomainAggregate
from .ids import insurance_fund_aggregate_id, oracle_aggregate_id


class Oracle(DomainAggregate):
    """The latest price of one symbol."""

    @staticmethod
    def create_id(symbol: str):  # noqa: ANN205
        """uuid5 of the symbol."""
        return oracle_aggregate_id(symbol)

    @event("Created")
    def __init__(self, at: int, seq: int, symbol: str, price: int, confidence: int, publish_time: int) -> None:
        self.symbol = symbol
        self.price = price
        self.confidence = confidence
        self.publish_time = publish_time
        self.updated_at = at

    @event("PriceSet")
    def set_price(self, at: int, seq: int, price: int, confidence: int, publish_time: int) -> None:
        """Record a new price."""
        self.price = price
        self.confidence = confidence
        self.publish_time = publish_time
        self.updated_at = at

    def restore_snapshot_state(self, state: dict) -> None:
        """Rebuild from `to_state()` data."""
        self.__dict__.update(state)

    def to_state(self) -> dict:
        """Canonical plain state."""
        return {
            "symbol": self.symbol,
            "price": self.price,
            "confidence": self.confidence,
            "publish_time": self.publish_time,
            "updated_at": self.updated_at,
        }


class InsuranceFund(DomainAggregate):
    """The exchange's insurance fund (USDC, quote 1e6); drawn by liquidations (issue 4)."""

    @staticmethod
    def create_id():  # noqa: ANN205
        """The single fund's fixed id."""
        return insurance_fund_aggregate_id()

    @event("Created")
    def __init__(self, at: int, seq: int) -> None:
        self.balance = 0
        self.contributed = 0

    @event("Funded")
    def fund(self, at: int, seq: int, amount: int) -> None:
        """An admin top-up from outside the exchange (counts as a deposit)."""
        self.balance += amount
        self.contributed += amount

    def restore_snapshot_state(self, state: dict) -> None:
        """Rebuild from `to_state()` data."""
        self.__dict__.update(state)

    def to_state(self) -> dict:
        """Canonical plain state."""
        return {"balance": self.balance, "contributed": self.contributed}
