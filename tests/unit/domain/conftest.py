"""Fixtures of the domain unit tests: a command clock, two traders, a SOL market."""

import pytest

from domain.exchange import Exchange

ALICE = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"
BOB = "HN7cABqLq46Es1jh92dQQisAq662SmxELLLsHHe4YWrH"
CAROL = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"
MALLORY = "7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV"

USDC = 1_000_000  # one USDC in quote units
ONE = 1_000_000_000  # one whole base unit
PRICE = 1_000_000  # one dollar of price

SOL_MARKET = dict(
    symbol="SOL-PERP", base_asset="SOL", tick_size=1_000, lot_size=10_000_000, min_size=10_000_000,
    max_leverage=20, initial_margin_bps=500, maintenance_margin_bps=300, maker_fee_bps=-2, taker_fee_bps=5,
)


class Commands:
    """Hands out (at, seq) pairs as the commands stream would: increasing time and sequence."""

    def __init__(self, start_at: int = 1_700_000_000_000_000_000, step: int = 1_000_000) -> None:
        self.at = start_at
        self.seq = 0
        self.step = step

    def next(self) -> tuple[int, int]:
        """The context of the next command."""
        self.at += self.step
        self.seq += 1
        return self.at, self.seq


@pytest.fixture
def commands() -> Commands:
    return Commands()


@pytest.fixture
def exchange(commands: Commands) -> Exchange:
    """An exchange with SOL-PERP at $100 and Alice and Bob holding 10,000 USDC each."""
    return trading_exchange(commands)


def trading_exchange(commands: Commands, deposit: int = 10_000 * USDC, app=None) -> Exchange:  # noqa: ANN001
    """The standard starting state (also used by property tests, which cannot take fixtures);
    with an eventsourcing `app`, its events are saved there instead of dropped."""
    exchange = Exchange()
    exchange.create_market(*commands.next(), **SOL_MARKET)
    exchange.set_oracle_price(*commands.next(), symbol="SOL", price=100 * PRICE)
    for owner in (ALICE, BOB):
        exchange.open_account(*commands.next(), owner=owner)
        exchange.deposit(*commands.next(), owner=owner, sub_account=0, asset="USDC", amount=deposit)
    if app is not None:
        app.save(*exchange.collect_changed())
    save(exchange)
    return exchange


def save(exchange: Exchange) -> list:
    """What the engine does after each command: collect the changed aggregates' events."""
    return [e for a in exchange.collect_changed() for e in a.collect_events()]


def event_names(events: list) -> list[str]:
    """Qualified names of events (e.g. 'Market.OrderPlaced')."""
    return [type(e).__qualname__ for e in events]
