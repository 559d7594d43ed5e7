"""Short builders for book tests: orders read like the sentence they stand for."""

from domain.book import NewOrder, Side

_next_id = iter(range(1, 10**9))


def buy(price: int, size: int, account: str = "alice", **options) -> NewOrder:
    """A buy order with a fresh id unless one is given."""
    return NewOrder(order_id=options.pop("order_id", next(_next_id)), account=account, side=Side.BUY,
                    price=price, size=size, **options)  # fmt: skip


def sell(price: int, size: int, account: str = "bob", **options) -> NewOrder:
    """A sell order with a fresh id unless one is given."""
    return NewOrder(order_id=options.pop("order_id", next(_next_id)), account=account, side=Side.SELL,
                    price=price, size=size, **options)  # fmt: skip


def traded(result) -> list[tuple]:
    """The fills of a placement as (maker id, price, size)."""
    return [(fill.maker_order_id, fill.price, fill.size) for fill in result.fills]
