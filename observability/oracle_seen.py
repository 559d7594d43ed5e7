"""One oracle as the price feed last left it in the engine, judged by the engine's own rules.

The feed knows what it sent and whether the engine accepted the command; an accepted command may
still have its price refused (too volatile, out of order, confidence too wide: the engine keeps
the previous price, flagged). ``OracleSeen`` applies ``domain.oracle_validity`` to the same inputs,
so its state is the engine's, and it ages with the clock (stale after 10 s, 60 s).

Known limits: not seen are prices of another publisher, a divergence from the mark (a market
fact), and anything before this process's first accepted price (the first one is judged alone).
"""

from __future__ import annotations

from domain import oracle_validity

UNPRICED = "Unpriced"
ORACLE_STATES = (oracle_validity.VALID, oracle_validity.STALE_FOR_TRADING, oracle_validity.STALE_FOR_MARGIN,
                 oracle_validity.CONFIDENCE_TOO_WIDE, oracle_validity.TOO_VOLATILE, oracle_validity.OUT_OF_ORDER,
                 UNPRICED)


class OracleSeen:
    """The last price the engine took from this feed, and the refusal flagging it, if any."""

    def __init__(self) -> None:
        self.price: int | None = None  # last price the engine took, at 1e6
        self.publish_time: int | None = None
        self.refusal: str | None = None

    def accepted(self, price: int, confidence: int, exponent: int, publish_time: int) -> str:
        """The engine accepted the command: "accepted" if it took the price, else "refused"."""
        scaled = oracle_validity.to_price_scale(price, exponent, False)
        refusal = oracle_validity.refusal_of(scaled, oracle_validity.to_price_scale(confidence, exponent, True),
                                             publish_time, self.price, self.publish_time)
        if refusal is not None:
            self.refusal = refusal
            return "refused"
        self.price, self.publish_time, self.refusal = scaled, publish_time, None
        return "accepted"

    def state(self, now_ns: int) -> str:
        """The validity state at `now_ns` (Unpriced before any accepted price)."""
        if self.publish_time is None:
            return self.refusal or UNPRICED
        return oracle_validity.validity_at(now_ns, self.publish_time, self.refusal)

    def age_seconds(self, now_ns: int) -> float:
        """Seconds since the accepted price's publish time (0 before any)."""
        return 0.0 if self.publish_time is None else max(0, now_ns - self.publish_time) / 1e9
