"""Narratives of the admin use cases: markets, oracle prices, the insurance fund."""

import pytest

from domain.ids import market_aggregate_id, oracle_aggregate_id
from domain.rejections import Rejected, RejectReason

from .conftest import ALICE, ONE, PRICE, SOL_MARKET, USDC, event_names, save

ETH_MARKET = SOL_MARKET | {"symbol": "ETH-PERP", "base_asset": "ETH", "tick_size": 10_000}


def test_creating_a_market_records_its_parameters(exchange, commands):
    market = exchange.create_market(*commands.next(), **ETH_MARKET)
    events = save(exchange)
    assert event_names(events) == ["Market.Created"]
    assert market.id == market_aggregate_id("ETH-PERP")
    assert events[0].params["max_leverage"] == 20 and market.status == "active"
    # A second creation of the same symbol is refused, as are malformed symbols.
    with pytest.raises(Rejected) as rejected:
        exchange.create_market(*commands.next(), **ETH_MARKET)
    assert rejected.value.reason is RejectReason.MARKET_EXISTS
    with pytest.raises(Rejected) as rejected:
        exchange.create_market(*commands.next(), **(ETH_MARKET | {"symbol": "eth"}))
    assert rejected.value.reason is RejectReason.INVALID_MARKET_PARAMS


def test_changing_the_tick_size_applies_to_new_orders(exchange, commands):
    exchange.change_market(*commands.next(), symbol="SOL-PERP", changes={"tick_size": 10_000})
    assert event_names(save(exchange)) == ["Market.ParametersChanged"]
    with pytest.raises(Rejected) as rejected:
        exchange.place_order(*commands.next(), owner=ALICE, sub_account=0, market="SOL-PERP", side="buy", size=ONE, price=99 * PRICE + 1_000)
    assert rejected.value.reason is RejectReason.INVALID_PRICE
    with pytest.raises(Rejected) as rejected:
        exchange.change_market(*commands.next(), symbol="SOL-PERP", changes={"colour": "red"})
    assert rejected.value.reason is RejectReason.INVALID_MARKET_PARAMS


def test_status_changes_are_recorded_once(exchange, commands):
    exchange.set_market_status(*commands.next(), symbol="SOL-PERP", status="paused")
    exchange.set_market_status(*commands.next(), symbol="SOL-PERP", status="paused")  # no change
    assert event_names(save(exchange)) == ["Market.StatusChanged"]
    with pytest.raises(Rejected) as rejected:
        exchange.set_market_status(*commands.next(), symbol="SOL-PERP", status="closed")
    assert rejected.value.reason is RejectReason.INVALID_MARKET_PARAMS


def test_oracle_prices_create_then_update_one_aggregate_per_symbol(exchange, commands):
    exchange.set_oracle_price(*commands.next(), symbol="BTC", price=60_000 * PRICE, confidence=30 * PRICE)
    exchange.set_oracle_price(*commands.next(), symbol="BTC", price=61_000 * PRICE)
    assert event_names(save(exchange)) == ["Oracle.Created", "Oracle.PriceSet"]
    assert exchange.oracle("BTC").id == oracle_aggregate_id("BTC") and exchange.oracle("BTC").price == 61_000 * PRICE
    # The SOL-PERP mark follows the SOL oracle.
    exchange.set_oracle_price(*commands.next(), symbol="SOL", price=123 * PRICE)
    assert exchange.mark_price("SOL-PERP") == 123 * PRICE
    with pytest.raises(Rejected) as rejected:
        exchange.set_oracle_price(*commands.next(), symbol="SOL", price=0)
    assert rejected.value.reason is RejectReason.INVALID_PRICE


def test_the_insurance_fund_is_topped_up_by_admin(exchange, commands):
    exchange.fund_insurance(*commands.next(), amount=500 * USDC)
    exchange.fund_insurance(*commands.next(), amount=250 * USDC)
    assert event_names(save(exchange)) == ["InsuranceFund.Created", "InsuranceFund.Funded", "InsuranceFund.Funded"]
    assert exchange.insurance_fund.balance == 750 * USDC
