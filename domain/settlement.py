"""Turning a Market's recorded fills into per-account settlements (pure).

For every fill the taker and the maker share one trade notional (price * size, rounded down);
each side's position is updated by `position.apply_fill`, its realized PnL and fee settled into
USDC. The result is grouped per owner (one `TradeSettled` event per Account per command), then
per sub-account, in order of first appearance, so it is deterministic.
"""

from .ids import split_book_account_key
from .position import Position, apply_fill


def settlements_for(
    taker: dict, fills: list, positions: dict[str, Position]
) -> dict[str, list[dict]]:
    """{owner: [settlement per sub-account]} for one order's fills.

    `taker` is the order payload (account key, side, order id, client order id);
    `positions` maps book account keys to their current positions in this market.
    """
    running: dict[str, dict] = {}

    def side_of(key: str, position: Position) -> dict:
        if key not in running:
            running[key] = {
                "base": position.base, "entry": position.entry_notional,
                "realized": 0, "fees": 0, "fills": [],
            }
        return running[key]

    taker_sign = 1 if taker["side"] == "buy" else -1
    for fill in fills:
        for key, sign, fee, order_id, liquidity in (
            (taker["account"], taker_sign, fill["taker_fee"], taker["order_id"], "taker"),
            (fill["maker_account"], -taker_sign, fill["maker_fee"], fill["maker_order_id"], "maker"),
        ):
            state = side_of(key, positions.get(key) or Position())
            state["base"], state["entry"], realized = apply_fill(
                state["base"], state["entry"], sign * fill["size"], fill["notional"]
            )
            state["realized"] += realized
            state["fees"] += fee
            state["fills"].append({
                "order_id": order_id, "side": "buy" if sign > 0 else "sell", "price": fill["price"],
                "size": fill["size"], "fee": fee, "realized_pnl": realized, "liquidity": liquidity,
            })
    by_owner: dict[str, list[dict]] = {}
    for key, state in running.items():
        owner, sub_account = split_book_account_key(key)
        by_owner.setdefault(owner, []).append({
            "sub_account": sub_account,
            "fills": state["fills"],
            "base_after": state["base"],
            "entry_notional_after": state["entry"],
            "realized_pnl": state["realized"],
            "fees": state["fees"],
        })
    return by_owner
