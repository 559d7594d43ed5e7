"""Identifiers of the domain and the uuid5 ids of its natural-key aggregates.

An owner is a Solana public key in base58; an account (one aggregate per owner) holds numbered
sub-accounts. Order ids are the sequence number of the command that placed the order, so they
are unique exchange-wide and the same on every replay. Aggregate ids derive from business keys
with uuid5, so creating an aggregate twice yields the same id (idempotent creation).
"""

import re
import uuid
from enum import StrEnum
from typing import NewType

Owner = NewType("Owner", str)
MarketId = NewType("MarketId", str)  # the market's symbol, e.g. "SOL-PERP"
OrderId = NewType("OrderId", int)
ClientOrderId = NewType("ClientOrderId", str)
SubAccountId = NewType("SubAccountId", int)

MAX_SUB_ACCOUNTS = 256
MAX_CLIENT_ORDER_ID_LENGTH = 64

# Fixed namespace: changing it would change every aggregate id in the store.
QUANTDESK_NAMESPACE = uuid.UUID("5b0e7f3c-2d1a-5c8e-9f4b-7a6d3e2c1b00")

_BASE58 = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{32,44}$")
_MARKET_SYMBOL = re.compile(r"^[A-Z0-9]{2,16}-PERP$")


class Asset(StrEnum):
    """Collateral assets; the value is the symbol, also the oracle key."""

    USDC = "USDC"
    USDT = "USDT"
    SOL = "SOL"
    BTC = "BTC"
    ETH = "ETH"


SETTLEMENT_ASSET = Asset.USDC


def is_valid_owner(owner: str) -> bool:
    """A base58 string of a 32-byte public key's length."""
    return isinstance(owner, str) and bool(_BASE58.match(owner))


def is_valid_market_symbol(symbol: str) -> bool:
    """Upper-case base symbol followed by -PERP, e.g. SOL-PERP."""
    return isinstance(symbol, str) and bool(_MARKET_SYMBOL.match(symbol))


def account_aggregate_id(owner: str) -> uuid.UUID:
    """The Account aggregate id of an owner."""
    return uuid.uuid5(QUANTDESK_NAMESPACE, f"account:{owner}")


def market_aggregate_id(market: str) -> uuid.UUID:
    """The Market aggregate id of a market symbol."""
    return uuid.uuid5(QUANTDESK_NAMESPACE, f"market:{market}")


def oracle_aggregate_id(symbol: str) -> uuid.UUID:
    """The Oracle aggregate id of a price symbol (an asset or a perp's base)."""
    return uuid.uuid5(QUANTDESK_NAMESPACE, f"oracle:{symbol}")


def insurance_fund_aggregate_id() -> uuid.UUID:
    """The single InsuranceFund aggregate id."""
    return uuid.uuid5(QUANTDESK_NAMESPACE, "insurance-fund")


def book_account_key(owner: str, sub_account: int) -> str:
    """The key an order carries in the book: one trader = one owner's sub-account."""
    return f"{owner}/{sub_account}"


def split_book_account_key(key: str) -> tuple[str, int]:
    """Inverse of book_account_key."""
    owner, _, sub = key.rpartition("/")
    return owner, int(sub)
