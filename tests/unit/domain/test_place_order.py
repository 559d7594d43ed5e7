"""Narratives of placing limit and market orders: resting, matching, settlement, rejections."""

import pytest

from domain.rejections import Rejected, RejectReason

from .conftest import ALICE, BOB, ONE, PRICE, USDC, event_names, save


def test_a_limit_order_that_does_not_cross_rests_with_one_market_event(exchange, commands):
    # Alice offers 2 SOL at $101.
    outcome = exchange.place_order(
        *commands.next(), owner=ALICE, sub_account=0, market="SOL-PERP", side="sell", size=2 * ONE,
        price=101 * PRICE, client_order_id="a-1",
    )
    # It rests, and only the market recorded it (open orders are derived from the book).
    assert outcome.status == "resting" and outcome.resting_size == 2 * ONE
    assert event_names(save(exchange)) == ["Market.OrderPlaced"]
    assert exchange.markets["SOL-PERP"].book.best_ask() == 101 * PRICE
    assert [o.order_id for o in exchange.open_orders(ALICE, 0)] == [outcome.order_id]


def test_a_crossing_order_fills_and_settles_both_accounts(exchange, commands):
    # Alice rests 2 SOL at $101; Bob buys 1 SOL up to $102.
    exchange.place_order(*commands.next(), owner=ALICE, sub_account=0, market="SOL-PERP", side="sell", size=2 * ONE, price=101 * PRICE)
    save(exchange)
    outcome = exchange.place_order(*commands.next(), owner=BOB, sub_account=0, market="SOL-PERP", side="buy", size=ONE, price=102 * PRICE)
    # Bob is filled at the maker's price: one market event and one event per account.
    assert outcome.status == "filled" and outcome.fills[0]["price"] == 101 * PRICE
    assert sorted(event_names(save(exchange))) == ["Account.TradeSettled", "Account.TradeSettled", "Market.OrderPlaced"]
    # Positions: Bob long 1 at $101, Alice short 1; fees: taker 5 bps, maker rebate 2 bps.
    bob = exchange.accounts[BOB].sub(0)
    alice = exchange.accounts[ALICE].sub(0)
    assert (bob.position("SOL-PERP").base, bob.position("SOL-PERP").entry_notional) == (ONE, 101 * USDC)
    assert alice.position("SOL-PERP").base == -ONE
    assert bob.balance("USDC") == 10_000 * USDC - 50_500
    assert alice.balance("USDC") == 10_000 * USDC + 20_200
    assert exchange.markets["SOL-PERP"].fee_pool == 50_500 - 20_200


def test_closing_a_position_realizes_pnl_into_usdc(exchange, commands):
    # Bob buys 1 SOL from Alice at $100, then sells it back to her at $110.
    exchange.place_order(*commands.next(), owner=ALICE, sub_account=0, market="SOL-PERP", side="sell", size=ONE, price=100 * PRICE)
    exchange.place_order(*commands.next(), owner=BOB, sub_account=0, market="SOL-PERP", side="buy", size=ONE, price=100 * PRICE)
    exchange.place_order(*commands.next(), owner=ALICE, sub_account=0, market="SOL-PERP", side="buy", size=ONE, price=110 * PRICE)
    exchange.place_order(*commands.next(), owner=BOB, sub_account=0, market="SOL-PERP", side="sell", size=ONE, price=110 * PRICE)
    # Bob is flat with +$10 realized; Alice lost $10.
    bob_position = exchange.accounts[BOB].sub(0).position("SOL-PERP")
    assert (bob_position.base, bob_position.entry_notional, bob_position.realized_pnl) == (0, 0, 10 * USDC)
    assert exchange.accounts[ALICE].sub(0).position("SOL-PERP").realized_pnl == -10 * USDC


def test_an_order_beyond_initial_margin_is_rejected_and_recorded(exchange, commands):
    # Bob (10,000 USDC, max 20x) tries to buy 5,000 SOL ($500,000 notional).
    with pytest.raises(Rejected) as rejected:
        exchange.place_order(*commands.next(), owner=BOB, sub_account=0, market="SOL-PERP", side="buy", size=5_000 * ONE, price=100 * PRICE)
    # The rejection is an event on Bob's account, and nothing else changed.
    assert rejected.value.reason is RejectReason.INSUFFICIENT_MARGIN
    events = save(exchange)
    assert event_names(events) == ["Account.CommandRejected"]
    assert events[0].reason == "InsufficientMargin"
    assert len(exchange.markets["SOL-PERP"].book) == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"price": 100 * PRICE + 1}, RejectReason.INVALID_PRICE),
        ({"size": ONE + 1}, RejectReason.INVALID_SIZE),
        ({"size": 1_000_000}, RejectReason.INVALID_SIZE),
        ({"market": "DOGE-PERP"}, RejectReason.UNKNOWN_MARKET),
        ({"side": "up"}, RejectReason.INVALID_ORDER),
        ({"time_in_force": "gtt"}, RejectReason.MISSING_EXPIRY),
        ({"signer": BOB}, RejectReason.NOT_AUTHORIZED),
        ({"sub_account": 7}, RejectReason.UNKNOWN_SUB_ACCOUNT),
    ],
)
def test_malformed_orders_get_their_reason(exchange, commands, change, reason):
    # Alice sends an order with one bad field.
    order = dict(owner=ALICE, sub_account=0, market="SOL-PERP", side="buy", size=ONE, price=100 * PRICE) | change
    with pytest.raises(Rejected) as rejected:
        exchange.place_order(*commands.next(), **order)
    # It is refused with the matching reason code, recorded on her account.
    assert rejected.value.reason is reason
    assert event_names(save(exchange)) == ["Account.CommandRejected"]


def test_an_unknown_account_is_rejected_without_an_event(exchange, commands):
    with pytest.raises(Rejected) as rejected:
        exchange.place_order(*commands.next(), owner="11111111111111111111111111111111", sub_account=0, market="SOL-PERP", side="buy", size=ONE, price=100 * PRICE)
    assert rejected.value.reason is RejectReason.UNKNOWN_ACCOUNT
    assert exchange.collect_changed() == []


def test_cancel_removes_the_order_with_one_market_event(exchange, commands):
    # Alice rests a bid with a client order id, then cancels it by that id.
    placed = exchange.place_order(*commands.next(), owner=ALICE, sub_account=0, market="SOL-PERP", side="buy", size=ONE, price=99 * PRICE, client_order_id="bid-1")
    save(exchange)
    cancelled = exchange.cancel_order(*commands.next(), owner=ALICE, sub_account=0, market="SOL-PERP", client_order_id="bid-1")
    assert cancelled == [placed.order_id]
    assert event_names(save(exchange)) == ["Market.OrdersCancelled"]
    # Cancelling it again: UnknownOrder.
    with pytest.raises(Rejected) as rejected:
        exchange.cancel_order(*commands.next(), owner=ALICE, sub_account=0, market="SOL-PERP", order_id=placed.order_id)
    assert rejected.value.reason is RejectReason.UNKNOWN_ORDER


def test_bob_cannot_cancel_alices_order(exchange, commands):
    placed = exchange.place_order(*commands.next(), owner=ALICE, sub_account=0, market="SOL-PERP", side="buy", size=ONE, price=99 * PRICE)
    with pytest.raises(Rejected) as rejected:
        exchange.cancel_order(*commands.next(), owner=BOB, sub_account=0, market="SOL-PERP", order_id=placed.order_id)
    assert rejected.value.reason is RejectReason.UNKNOWN_ORDER
