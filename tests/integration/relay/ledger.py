"""A tiny event-sourced ledger used to fill a real store for the relay's tests.

Account events carry the owner only on creation (like the domain's), so the relay must look the
key up from the aggregate's first event; Market events carry `market` on every event.
"""

import uuid

from eventsourcing.domain import Aggregate, event

NAMESPACE = uuid.UUID("0b6b0e56-3c4f-4e8f-8a53-2d6f6a1c9e21")


class Account(Aggregate):
    """One owner's account."""

    @staticmethod
    def create_id(owner: str) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, f"account:{owner}")

    @event("Opened")
    def __init__(self, owner: str, at: int, seq: int) -> None:
        self.owner = owner
        self.balance = 0

    @event("Deposited")
    def deposit(self, amount: int, at: int, seq: int) -> None:
        self.balance += amount


class Market(Aggregate):
    """One market."""

    @staticmethod
    def create_id(market: str) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, f"market:{market}")

    @event("Listed")
    def __init__(self, market: str, at: int, seq: int) -> None:
        self.market = market

    @event("Traded")
    def trade(self, market: str, price: int, size: int, at: int, seq: int) -> None:
        self.last_price = price
