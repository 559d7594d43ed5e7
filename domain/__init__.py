"""QuantDesk's trading domain: pure, deterministic, event-sourced (no I/O, no clock, no floats).

Entry point for adapters: `domain.exchange.Exchange` (one method per use case). The order book
itself lives in `domain.book` (pure matching); everything else here models markets, accounts,
collateral, positions and margin as `eventsourcing` aggregates.
"""
