"""Narratives of the account use cases: opening, delegates, deposits, withdrawals, transfers,
multi-asset collateral."""

import pytest

from domain.rejections import Rejected, RejectReason

from .conftest import ALICE, BOB, CAROL, MALLORY, ONE, PRICE, USDC, event_names, save

SOL = "SOL-PERP"


def rejection(callable_, *args, **kwargs) -> RejectReason:
    with pytest.raises(Rejected) as rejected:
        callable_(*args, **kwargs)
    return rejected.value.reason


def test_opening_an_account_is_idempotent_by_owner(exchange, commands):
    account = exchange.open_account(*commands.next(), owner=CAROL)
    assert event_names(save(exchange)) == ["Account.Opened"]
    # The aggregate id is derived from the owner: the same key always maps to the same id.
    from domain.ids import account_aggregate_id

    assert account.id == account_aggregate_id(CAROL)
    assert rejection(exchange.open_account, *commands.next(), owner=CAROL) is RejectReason.ACCOUNT_EXISTS
    assert rejection(exchange.open_account, *commands.next(), owner="not-a-key") is RejectReason.INVALID_OWNER


def test_a_deposit_to_a_new_owner_opens_the_account(exchange, commands):
    exchange.deposit(*commands.next(), owner=CAROL, sub_account=2, asset="SOL", amount=5 * ONE, reference="sig")
    assert event_names(save(exchange)) == ["Account.Opened", "Account.Deposited"]
    assert exchange.accounts[CAROL].sub(2).balance("SOL") == 5 * ONE


def test_delegates_trade_but_cannot_withdraw_or_manage_keys(exchange, commands):
    # Alice lets Carol trade for her.
    exchange.add_delegate(*commands.next(), owner=ALICE, delegate=CAROL)
    placed = exchange.place_order(*commands.next(), owner=ALICE, sub_account=0, market=SOL, side="buy", size=ONE, price=99 * PRICE, signer=CAROL)
    exchange.cancel_order(*commands.next(), owner=ALICE, sub_account=0, market=SOL, order_id=placed.order_id, signer=CAROL)
    # Carol may not withdraw, transfer, or add keys; Mallory may not even trade.
    assert rejection(exchange.request_withdrawal, *commands.next(), owner=ALICE, sub_account=0, asset="USDC", amount=USDC, signer=CAROL) is RejectReason.DELEGATE_CANNOT_WITHDRAW
    assert rejection(exchange.transfer, *commands.next(), owner=ALICE, from_sub_account=0, to_sub_account=1, asset="USDC", amount=USDC, signer=CAROL) is RejectReason.DELEGATE_CANNOT_WITHDRAW
    assert rejection(exchange.add_delegate, *commands.next(), owner=ALICE, delegate=MALLORY, signer=CAROL) is RejectReason.NOT_AUTHORIZED
    assert rejection(exchange.place_order, *commands.next(), owner=ALICE, sub_account=0, market=SOL, side="buy", size=ONE, price=99 * PRICE, signer=MALLORY) is RejectReason.NOT_AUTHORIZED
    # Once removed, Carol can no longer trade.
    exchange.remove_delegate(*commands.next(), owner=ALICE, delegate=CAROL)
    assert rejection(exchange.place_order, *commands.next(), owner=ALICE, sub_account=0, market=SOL, side="buy", size=ONE, price=99 * PRICE, signer=CAROL) is RejectReason.NOT_AUTHORIZED


def test_withdrawals_only_take_free_collateral(exchange, commands):
    # Bob (10,000 USDC) goes long 1,000 SOL at $100: $5,000 initial margin at 5%.
    exchange.place_order(*commands.next(), owner=ALICE, sub_account=0, market=SOL, side="sell", size=1_000 * ONE, price=100 * PRICE)
    exchange.place_order(*commands.next(), owner=BOB, sub_account=0, market=SOL, side="buy", size=1_000 * ONE, price=100 * PRICE)
    free = exchange.margin(BOB, 0).free_collateral
    assert 0 < free < 5_000 * USDC
    save(exchange)
    # More than the free collateral: refused. Exactly the free collateral: paid out.
    assert rejection(exchange.request_withdrawal, *commands.next(), owner=BOB, sub_account=0, asset="USDC", amount=free + 1) is RejectReason.INSUFFICIENT_COLLATERAL
    withdrawal_id = exchange.request_withdrawal(*commands.next(), owner=BOB, sub_account=0, asset="USDC", amount=free)
    events = save(exchange)
    assert event_names(events) == ["Account.CommandRejected", "Account.WithdrawalRequested"]
    assert events[1].withdrawal_id == withdrawal_id and events[1].destination == BOB
    assert exchange.margin(BOB, 0).free_collateral == 0


def test_transfers_move_free_collateral_between_sub_accounts(exchange, commands):
    exchange.transfer(*commands.next(), owner=ALICE, from_sub_account=0, to_sub_account=3, asset="USDC", amount=400 * USDC)
    assert exchange.accounts[ALICE].sub(3).balance("USDC") == 400 * USDC
    assert exchange.accounts[ALICE].sub(0).balance("USDC") == 9_600 * USDC
    assert rejection(exchange.transfer, *commands.next(), owner=ALICE, from_sub_account=3, to_sub_account=3, asset="USDC", amount=USDC) is RejectReason.SAME_SUB_ACCOUNT
    assert rejection(exchange.transfer, *commands.next(), owner=ALICE, from_sub_account=3, to_sub_account=0, asset="USDC", amount=401 * USDC) is RejectReason.INSUFFICIENT_COLLATERAL
    assert rejection(exchange.transfer, *commands.next(), owner=ALICE, from_sub_account=3, to_sub_account=0, asset="DOGE", amount=USDC) is RejectReason.UNKNOWN_ASSET


def test_non_usdc_collateral_counts_with_its_haircut_at_oracle_price(exchange, commands):
    # Carol deposits 10 SOL ($100 each, initial weight 80%): $800 of initial collateral.
    exchange.deposit(*commands.next(), owner=CAROL, sub_account=0, asset="SOL", amount=10 * ONE)
    assert exchange.margin(CAROL, 0).initial_equity == 800 * USDC
    assert exchange.margin(CAROL, 0).maintenance_equity == 900 * USDC
    # At $50 it is worth half; without any price, nothing.
    exchange.set_oracle_price(*commands.next(), symbol="SOL", price=50 * PRICE)
    assert exchange.margin(CAROL, 0).initial_equity == 400 * USDC
    exchange.deposit(*commands.next(), owner=CAROL, sub_account=0, asset="BTC", amount=100_000_000)
    assert exchange.margin(CAROL, 0).initial_equity == 400 * USDC
    # She can trade on it: a $7,000 position needs $350 at 5%.
    exchange.place_order(*commands.next(), owner=ALICE, sub_account=0, market=SOL, side="sell", size=140 * ONE, price=50 * PRICE)
    exchange.place_order(*commands.next(), owner=CAROL, sub_account=0, market=SOL, side="buy", size=140 * ONE, price=50 * PRICE)
    assert exchange.accounts[CAROL].sub(0).position(SOL).base == 140 * ONE
    # Her realized fees made USDC negative: a debt counted at full weight.
    assert exchange.accounts[CAROL].sub(0).balance("USDC") < 0


def test_bad_amounts_and_assets_are_rejected(exchange, commands):
    for amount in (0, -5, "7"):
        assert rejection(exchange.deposit, *commands.next(), owner=ALICE, sub_account=0, asset="USDC", amount=amount) is RejectReason.INVALID_AMOUNT
    assert rejection(exchange.deposit, *commands.next(), owner=ALICE, sub_account=0, asset="XYZ", amount=1) is RejectReason.UNKNOWN_ASSET
    assert rejection(exchange.deposit, *commands.next(), owner=ALICE, sub_account=10_000, asset="USDC", amount=1) is RejectReason.UNKNOWN_SUB_ACCOUNT


def test_the_settler_completes_or_refunds_pending_withdrawals(exchange, commands):
    # Alice asks for two payouts of 100 USDC.
    paid = exchange.request_withdrawal(*commands.next(), owner=ALICE, sub_account=0, asset="USDC", amount=100 * USDC)
    refunded = exchange.request_withdrawal(*commands.next(), owner=ALICE, sub_account=0, asset="USDC", amount=100 * USDC)
    assert exchange.accounts[ALICE].sub(0).balance("USDC") == 9_800 * USDC
    save(exchange)
    # One is confirmed on chain, the other refunded: the balance comes back for that one only.
    exchange.complete_withdrawal(*commands.next(), owner=ALICE, withdrawal_id=paid, chain_tx="sig")
    exchange.refund_withdrawal(*commands.next(), owner=ALICE, withdrawal_id=refunded, reason="failed")
    assert event_names(save(exchange)) == ["Account.Withdrawn", "Account.WithdrawalRefunded"]
    assert exchange.accounts[ALICE].sub(0).balance("USDC") == 9_900 * USDC
    assert exchange.accounts[ALICE].withdrawn["USDC"] == 100 * USDC
    # Neither can be settled twice.
    assert rejection(exchange.complete_withdrawal, *commands.next(), owner=ALICE, withdrawal_id=paid) is RejectReason.UNKNOWN_WITHDRAWAL
    assert rejection(exchange.refund_withdrawal, *commands.next(), owner=ALICE, withdrawal_id=refunded, reason="x") is RejectReason.UNKNOWN_WITHDRAWAL


def test_collateral_with_a_stale_price_backs_no_new_risk(exchange, commands):
    # Carol's only collateral is 1 BTC at $10,000 (initial weight 85%: $8,500)
    exchange.set_oracle_price(*commands.next(), symbol="BTC", price=10_000 * PRICE)
    exchange.deposit(*commands.next(), owner=CAROL, sub_account=0, asset="BTC", amount=100_000_000)
    exchange.place_order(*commands.next(), owner=CAROL, sub_account=0, market=SOL, side="buy", size=10 * ONE, price=99 * PRICE)
    # 20 s later the BTC price has not moved (SOL's has, so SOL-PERP itself still trades)
    commands.at += 20 * 1_000_000_000
    exchange.set_oracle_price(*commands.next(), symbol="SOL", price=100 * PRICE)
    # New risk on the stale BTC is refused, naming the price; so is taking BTC out
    assert rejection(exchange.place_order, *commands.next(), owner=CAROL, sub_account=0, market=SOL, side="buy", size=10 * ONE, price=99 * PRICE) is RejectReason.ORACLE_PRICE_INVALID
    assert rejection(exchange.request_withdrawal, *commands.next(), owner=CAROL, sub_account=0, asset="BTC", amount=10_000_000) is RejectReason.ORACLE_PRICE_INVALID
    # Margin (liquidation) still values it at its last price, and reducing risk stays allowed
    assert exchange.margin(CAROL, 0).maintenance_equity > 9_000 * USDC
    placed = exchange.place_order(*commands.next(), owner=CAROL, sub_account=0, market=SOL, side="sell", size=10 * ONE, price=101 * PRICE)
    exchange.cancel_order(*commands.next(), owner=CAROL, sub_account=0, market=SOL, order_id=placed.order_id)
    # A fresh BTC price lets it back new risk again
    exchange.set_oracle_price(*commands.next(), symbol="BTC", price=10_000 * PRICE)
    exchange.place_order(*commands.next(), owner=CAROL, sub_account=0, market=SOL, side="buy", size=10 * ONE, price=99 * PRICE)
