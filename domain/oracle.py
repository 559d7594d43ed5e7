"""Price aggregates: one `Oracle` per symbol (asset or perp underlying) and the single
`InsuranceFund`.

An oracle keeps the last *accepted* Pyth-shaped price (1e6), its confidence, publish time and an
hour TWAP. Every update is recorded: accepted (`PriceSet`, with its validity at arrival) or
refused (`PriceRejected`, with the reason; the previous price stays). Staleness is a matter of
time, so a sweep records `ValidityChanged` when the state it finds differs from the recorded one.
The rules are in `oracle_validity`.
"""

from eventsourcing.domain import event

from .aggregate import DomainAggregate
from .ids import insurance_fund_aggregate_id, oracle_aggregate_id
from .oracle_validity import VALID, next_twap


class Oracle(DomainAggregate):
    """The latest accepted price of one symbol, its TWAP and its validity."""

    # Defaults for aggregates rebuilt from snapshots taken before these fields existed.
    exponent = -6
    twap: int | None = None
    twap_at: int | None = None
    validity = VALID
    refusal: str | None = None
    refused_at: int | None = None
    diverging = False

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
        self.twap = price
        self.twap_at = at

    @event("PriceSet")
    def set_price(
        self, at: int, seq: int, price: int, confidence: int, publish_time: int, exponent: int = -6,
        validity: str = VALID, diverging: bool = False,
    ) -> None:
        """Record a new accepted price (clears any refusal flag)."""
        self.diverging = diverging
        self.twap = next_twap(self.twap, self.twap_at, self.price, at)
        self.twap_at = at
        self.price = price
        self.confidence = confidence
        self.publish_time = publish_time
        self.updated_at = at
        self.exponent = exponent
        self.validity = validity
        self.refusal = None
        self.refused_at = None

    @event("PriceRejected")
    def reject_price(
        self, at: int, seq: int, price: int, confidence: int, publish_time: int, reason: str,
        reference_price: int, mark_twap: int | None,
    ) -> None:
        """Record a refused update: the previous accepted price stays, the oracle is flagged."""
        if self.refusal is None:
            self.refused_at = at
        self.refusal = reason
        self.validity = reason

    @event("ValidityChanged")
    def change_validity(self, at: int, seq: int, validity: str, previous: str, age: int, since: int) -> None:
        """A sweep found the oracle in another state than the one recorded (staleness)."""
        self.validity = validity

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
            "exponent": self.exponent,
            "twap": self.twap,
            "twap_at": self.twap_at,
            "validity": self.validity,
            "refusal": self.refusal,
            "refused_at": self.refused_at,
            "diverging": self.diverging,
        }


class InsuranceFund(DomainAggregate):
    """The exchange's insurance fund (USDC, quote 1e6): fed by liquidation fees and funding
    rounding, drawn to cover bankrupt accounts."""

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

    @event("InsuranceFundChanged")
    def change(self, at: int, seq: int, delta: int, balance: int, reason: str, account: str | None, market: str | None) -> None:
        """Money moved inside the exchange: + liquidation fee / funding rounding, - a deficit
        covered. `balance` is the balance after."""
        self.balance += delta

    def restore_snapshot_state(self, state: dict) -> None:
        """Rebuild from `to_state()` data."""
        self.__dict__.update(state)

    def to_state(self) -> dict:
        """Canonical plain state."""
        return {"balance": self.balance, "contributed": self.contributed}
