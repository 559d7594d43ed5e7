"""A small exchange for the risk narratives: SOL-PERP at $100 (IMR 5%, MMR 3%), a clock of one
second per command (oracle staleness is a matter of seconds), traders and a liquidator."""

from domain.exchange import Exchange
from domain.rejections import Rejected

from tests.unit.domain.conftest import ALICE, BOB, CAROL, MALLORY, ONE, PRICE, SOL_MARKET, USDC, Commands

MAKER = ALICE
LIQUIDATOR = MALLORY
DAVE = "Dave1111111111111111111111111111111111111111"[:44]
PAT = "Pat11111111111111111111111111111111111111111"[:44]  # holds only USDC, never trades
SECOND = 10**9
HOUR = 3600 * SECOND

__all__ = ["ALICE", "BOB", "CAROL", "DAVE", "HOUR", "LIQUIDATOR", "MAKER", "ONE", "PAT", "PRICE", "SECOND", "USDC",
           "World"]


class World:
    """An exchange and its command clock; every call saves (collects) the events as the engine does."""

    def __init__(self, insurance: int = 0, **market_changes) -> None:
        self.commands = Commands(step=SECOND)
        self.exchange = Exchange()
        self.events: list = []
        self.pending: list = []  # events not yet saved to an Application (replay tests)
        self.do("create_market", **(SOL_MARKET | market_changes))
        self.price(100 * PRICE)
        if insurance:
            self.do("fund_insurance", amount=insurance)

    def do(self, use_case: str, **kwargs):
        """Run one use case as one command; returns its result (raises Rejected)."""
        try:
            return getattr(self.exchange, use_case)(*self.commands.next(), **kwargs)
        finally:
            changed = self.exchange.collect_changed()
            recorded = [e for a in changed for e in a.collect_events()]
            self.events += recorded
            self.pending += recorded

    def attempt(self, use_case: str, **kwargs) -> str | None:
        """Run a use case; the rejection reason, or None when accepted."""
        try:
            self.do(use_case, **kwargs)
            return None
        except Rejected as rejected:
            return rejected.reason.value

    def price(self, price: int, **kwargs) -> None:
        """A fresh oracle price for SOL."""
        self.do("set_oracle_price", symbol="SOL", price=price, **kwargs)

    def refresh(self) -> None:
        """Publish the current SOL price again (the clock runs one second per command)."""
        self.price(self.exchange.oracles["SOL"].price)

    def wait(self, nanoseconds: int) -> None:
        """Let time pass without commands."""
        self.commands.at += nanoseconds

    def trader(self, owner: str, usdc: int) -> None:
        """Open an account with `usdc` whole USDC."""
        self.do("open_account", owner=owner)
        self.do("deposit", owner=owner, sub_account=0, asset="USDC", amount=usdc * USDC)

    def trade(self, buyer: str, seller: str, size: int, price: int) -> None:
        """`seller` rests an ask, `buyer` takes it (on a fresh price)."""
        self.refresh()
        self.do("place_order", owner=seller, sub_account=0, market="SOL-PERP", side="sell", size=size, price=price)
        self.do("place_order", owner=buyer, sub_account=0, market="SOL-PERP", side="buy", size=size, price=price)

    def base(self, owner: str) -> int:
        """The SOL-PERP position of an owner's sub-account 0."""
        return self.exchange.accounts[owner].sub(0).position("SOL-PERP").base

    def usdc(self, owner: str) -> int:
        """The USDC balance of an owner's sub-account 0."""
        return self.exchange.accounts[owner].sub(0).balance("USDC")

    def named(self, name: str) -> list:
        """Events of one class name, in order."""
        return [e for e in self.events if type(e).__name__ == name]

    def since(self, mark: int) -> list:
        """Events recorded after `mark` (= len(self.events) then)."""
        return self.events[mark:]
