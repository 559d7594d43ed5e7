"""Off-book trigger orders: stops, take-profits and trailing stops firing from prices."""

from domain.book import RejectReason, Side, TriggerBook, TriggerDirection, TriggerKind, TriggerOrder


def _trigger(trigger_id, side, kind, **fields):
    return TriggerOrder(trigger_id=trigger_id, account=fields.pop("account", "alice"), side=side,
                        size=fields.pop("size", 1), kind=kind, **fields)  # fmt: skip


def _fired(triggered):
    return [(t.order.trigger_id, t.trigger_price) for t in triggered]


def test_stops_and_take_profits_fire_in_their_direction():
    triggers = TriggerBook()
    # Given a long's sell stop at 90 and sell take-profit at 120, a short's buy stop at 110
    triggers.add(_trigger("sell-stop", Side.SELL, TriggerKind.STOP_MARKET, trigger_price=90))
    triggers.add(_trigger("sell-tp", Side.SELL, TriggerKind.TAKE_PROFIT_LIMIT, trigger_price=120, limit_price=119))
    triggers.add(_trigger("buy-stop", Side.BUY, TriggerKind.STOP_LIMIT, trigger_price=110, limit_price=111))
    assert triggers.get("sell-stop").direction is TriggerDirection.FALLS_TO
    assert triggers.get("sell-tp").direction is TriggerDirection.RISES_TO

    # When the price stays inside 91..109 nothing fires
    assert triggers.on_price(100) == [] and triggers.on_price(91) == []

    # When the price jumps to 125, the buy stop and the take-profit fire, by trigger price
    fired = triggers.on_price(125)
    assert _fired(fired) == [("buy-stop", 110), ("sell-tp", 120)]
    assert fired[1].order.limit_price == 119 and fired[1].price == 125

    # And once fired they are gone; the stop fires on the way down
    assert triggers.on_price(125) == []
    assert _fired(triggers.on_price(90)) == [("sell-stop", 90)] and len(triggers) == 0


def test_triggers_at_one_price_fire_in_arrival_order():
    triggers = TriggerBook()
    for name in ("b", "a", "c"):
        triggers.add(_trigger(name, Side.SELL, TriggerKind.STOP_MARKET, trigger_price=90))
    assert [t.order.trigger_id for t in triggers.on_price(80)] == ["b", "a", "c"]


def test_a_trailing_stop_follows_the_price_up_and_fires_on_the_pullback():
    triggers = TriggerBook()
    # Given a sell trailing stop 10 below a reference of 100, and one 5% (500 bps) below
    triggers.add(_trigger("by-amount", Side.SELL, TriggerKind.TRAILING_STOP, trail_amount=10), reference_price=100)
    triggers.add(_trigger("by-bps", Side.SELL, TriggerKind.TRAILING_STOP, trail_bps=500), reference_price=100)
    assert triggers.get("by-amount").trigger_price == 90 and triggers.get("by-bps").trigger_price == 95

    # When the price rises to 200, both triggers follow it up to 190 (200 - 10, and 200 - 5%)
    assert triggers.on_price(200) == []
    assert triggers.get("by-amount").trigger_price == 190 and triggers.get("by-bps").trigger_price == 190

    # And a dip does not move them back down
    assert triggers.on_price(195) == [] and triggers.get("by-amount").trigger_price == 190

    # When the price falls to 190 both fire, in arrival order at the same trigger price
    assert _fired(triggers.on_price(190)) == [("by-amount", 190), ("by-bps", 190)]


def test_a_buy_trailing_stop_follows_the_price_down():
    triggers = TriggerBook()
    triggers.add(_trigger("short-cover", Side.BUY, TriggerKind.TRAILING_STOP, trail_amount=5), reference_price=100)
    assert triggers.on_price(80) == [] and triggers.get("short-cover").trigger_price == 85
    assert _fired(triggers.on_price(85)) == [("short-cover", 85)]


def test_bad_triggers_are_rejected_and_cancel_removes_them():
    triggers = TriggerBook()
    assert triggers.add(_trigger("x", Side.SELL, TriggerKind.STOP_MARKET)) is RejectReason.INVALID_PRICE
    assert triggers.add(_trigger("x", Side.SELL, TriggerKind.STOP_LIMIT, trigger_price=9)) is RejectReason.INVALID_PRICE
    assert triggers.add(_trigger("x", Side.SELL, TriggerKind.TRAILING_STOP, trail_amount=5)) is RejectReason.INVALID_PRICE
    assert (
        triggers.add(_trigger("x", Side.SELL, TriggerKind.TRAILING_STOP, trail_amount=5, trail_bps=5), reference_price=9)
        is RejectReason.INVALID_ORDER
    )
    assert triggers.add(_trigger("x", Side.SELL, TriggerKind.STOP_MARKET, size=0, trigger_price=9)) is RejectReason.INVALID_SIZE
    # Given two accepted triggers of alice and one of bob
    assert triggers.add(_trigger("a1", Side.SELL, TriggerKind.STOP_MARKET, trigger_price=9)) is None
    assert triggers.add(_trigger("a1", Side.SELL, TriggerKind.STOP_MARKET, trigger_price=9)) is RejectReason.DUPLICATE_ORDER_ID
    triggers.add(_trigger("a2", Side.BUY, TriggerKind.STOP_MARKET, trigger_price=20))
    triggers.add(_trigger("b1", Side.BUY, TriggerKind.STOP_MARKET, trigger_price=20, account="bob"))
    # When alice cancels a1 and then all of hers
    assert triggers.cancel("a1").order.trigger_id == "a1" and triggers.cancel("a1") is None
    assert [p.order.trigger_id for p in triggers.cancel_all("alice")] == ["a2"]
    # Then only bob's remains and nothing of alice's fires
    assert _fired(triggers.on_price(30)) == [("b1", 20)]


def test_snapshot_restore_keeps_moved_trailing_stops():
    triggers = TriggerBook()
    triggers.add(_trigger("t", Side.SELL, TriggerKind.TRAILING_STOP, trail_amount=10), reference_price=100)
    triggers.add(_trigger("s", Side.BUY, TriggerKind.STOP_MARKET, trigger_price=150, client_order_id="c"))
    triggers.on_price(130)
    restored = TriggerBook.restore(triggers.snapshot())
    assert restored.order_by_client_id("alice", "c").order.trigger_id == "s"
    assert restored.order_by_client_id("bob", "c") is None and restored.order_count("alice") == 2
    assert restored.canonical() == triggers.canonical() and restored.state_digest() == triggers.state_digest()
    assert _fired(restored.on_price(120)) == _fired(triggers.on_price(120)) == [("t", 120)]
