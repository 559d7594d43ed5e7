"""Which domain asset symbol is which on-chain asset index (and mint).

The exchange account lists its mints; the asset index of a mint is its position there. The
domain names assets by symbol (`USDC`, `SOL`). The mapping is configuration, given in asset
index order, e.g. `QD_ONCHAIN_ASSETS=USDC,SOL`.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey


@dataclass(frozen=True)
class AssetMap:
    """Symbols in on-chain asset index order, with their mints."""

    symbols: tuple[str, ...]
    mints: tuple[Pubkey, ...]

    def __post_init__(self) -> None:
        if len(self.symbols) > len(self.mints):
            raise ValueError(f"{len(self.symbols)} asset symbols but the exchange has {len(self.mints)} mints")

    def index_of(self, symbol: str) -> int:
        """The on-chain asset index of a domain symbol; raises KeyError for an unsettled asset."""
        try:
            return self.symbols.index(symbol)
        except ValueError:
            raise KeyError(f"asset {symbol!r} has no on-chain mint (configured: {', '.join(self.symbols)})") from None

    def symbol_of(self, index: int) -> str:
        """The domain symbol of an on-chain asset index."""
        if not 0 <= index < len(self.symbols):
            raise KeyError(f"asset index {index} is not configured")
        return self.symbols[index]

    def mint_of(self, symbol: str) -> Pubkey:
        return self.mints[self.index_of(symbol)]


def parse_symbols(text: str) -> tuple[str, ...]:
    """`"USDC,SOL"` -> ("USDC", "SOL")."""
    return tuple(symbol.strip().upper() for symbol in text.split(",") if symbol.strip())
