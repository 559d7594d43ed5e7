"""The stack of the settlement-loop tests: see onchain/dev_stack.py (shared with bench.settlement)."""

from onchain.dev_stack import MARKET, USDC, Stack, Trader, running_stack, sol_perp

__all__ = ["MARKET", "USDC", "Stack", "Trader", "running_stack", "sol_perp"]
