"""Runnable example bots: `python -m examples.bot`, `examples.market_maker`, `examples.taker`."""
