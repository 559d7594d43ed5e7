"""Command handlers: one plain function per command, and the routing table `HANDLERS`.

A handler takes the command and its dependencies as named parameters — the in-memory
`exchange` (domain.exchange.Exchange), the verified `envelope`, and the command's time `at` and
`seq` from the commands stream — and calls one use case of the domain. It returns nothing;
what happened is in the events the domain recorded, which the engine collects and commits.

A refusal is raised: `domain.rejections.Rejected` by the domain, `CommandRefused` here. The
signer is passed to the domain, which knows who the delegates are (and that they cannot
withdraw); operator keys were already checked by the engine's intake.
"""

from __future__ import annotations

from typing import Any, Callable

from commands import messages as m
from commands.envelope import Envelope
from commands.rejections import CommandRefused, Rejection


def open_account(command: m.OpenAccount, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    """Sub-account 0 opens the account; any other number opens a sub-account of it."""
    if envelope.sub_account == 0:
        exchange.open_account(at, seq, owner=envelope.owner)
    else:
        exchange.open_sub_account(
            at, seq, owner=envelope.owner, sub_account=envelope.sub_account, signer=envelope.signer
        )


def add_delegate(command: m.AddDelegate, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    exchange.add_delegate(at, seq, owner=envelope.owner, delegate=command.delegate, signer=envelope.signer)


def remove_delegate(command: m.RemoveDelegate, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    exchange.remove_delegate(at, seq, owner=envelope.owner, delegate=command.delegate, signer=envelope.signer)


def deposit(command: m.Deposit, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    exchange.deposit(
        at, seq, owner=envelope.owner, sub_account=envelope.sub_account, asset=command.asset,
        amount=command.amount, reference=command.chain_tx or None,
    )


def request_withdrawal(command: m.RequestWithdrawal, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    exchange.request_withdrawal(
        at, seq, owner=envelope.owner, sub_account=envelope.sub_account, asset=command.asset,
        amount=command.amount, signer=envelope.signer,
    )


def transfer(command: m.Transfer, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    exchange.transfer(
        at, seq, owner=envelope.owner, from_sub_account=envelope.sub_account,
        to_sub_account=command.to_sub_account, asset=command.asset, amount=command.amount,
        signer=envelope.signer,
    )


def place_order(command: m.PlaceOrder, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    exchange.place_order(
        at, seq, owner=envelope.owner, sub_account=envelope.sub_account, market=command.market,
        side=command.side, size=command.size, price=command.price, order_type=command.order_type,
        time_in_force=command.time_in_force, post_only=command.post_only,
        self_trade=command.self_trade_prevention, reduce_only=command.reduce_only,
        client_order_id=command.client_order_id, expires_at=command.expires_at,
        trigger_price=command.trigger_price, trail_amount=command.trailing_amount,
        trail_bps=command.trailing_bps, signer=envelope.signer,
    )


def cancel_order(command: m.CancelOrder, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    if command.order_id is None and command.client_order_id is None:
        raise CommandRefused(Rejection.INVALID_SCHEMA, "order_id or client_order_id is required")
    exchange.cancel_order(
        at, seq, owner=envelope.owner, sub_account=envelope.sub_account, market=command.market,
        order_id=command.order_id, client_order_id=command.client_order_id, signer=envelope.signer,
    )


def cancel_all(command: m.CancelAll, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    exchange.cancel_all(
        at, seq, owner=envelope.owner, sub_account=envelope.sub_account, market=command.market,
        signer=envelope.signer,
    )


def modify_order(command: m.ModifyOrder, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    if command.order_id is None and command.client_order_id is None:
        raise CommandRefused(Rejection.INVALID_SCHEMA, "order_id or client_order_id is required")
    exchange.modify_order(
        at, seq, owner=envelope.owner, sub_account=envelope.sub_account, market=command.market,
        order_id=command.order_id, client_order_id=command.client_order_id,
        new_price=command.new_price, new_size=command.new_size, signer=envelope.signer,
    )


def set_dead_man_switch(command: m.SetDeadManSwitch, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    exchange.set_dead_man_switch(
        at, seq, owner=envelope.owner, fires_at=command.cancel_at or None, signer=envelope.signer
    )


def create_market(command: m.CreateMarket, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    exchange.create_market(
        at, seq, symbol=command.market, base_asset=command.base_asset,
        tick_size=command.tick_size, lot_size=command.lot_size, min_size=command.min_size,
        max_leverage=command.max_leverage, initial_margin_bps=command.initial_margin_bps,
        maintenance_margin_bps=command.maintenance_margin_bps,
        maker_fee_bps=command.maker_fee_bps, taker_fee_bps=command.taker_fee_bps,
    )


def change_market(command: m.ChangeMarket, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    fields = ("tick_size", "lot_size", "min_size", "max_leverage", "initial_margin_bps",
              "maintenance_margin_bps", "maker_fee_bps", "taker_fee_bps")
    changes = {name: getattr(command, name) for name in fields if getattr(command, name) is not None}
    exchange.change_market(at, seq, symbol=command.market, changes=changes)


def set_market_status(command: m.SetMarketStatus, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    exchange.set_market_status(at, seq, symbol=command.market, status=command.status)


def set_oracle_price(command: m.SetOraclePrice, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    exchange.set_oracle_price(
        at, seq, symbol=command.symbol, price=command.price, confidence=command.confidence,
        exponent=command.exponent, publish_time=command.publish_time,
    )


def liquidate(command: m.Liquidate, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    """The signing sub-account liquidates (takes over) the named one."""
    exchange.liquidate(
        at, seq, owner=command.owner, sub_account=command.sub_account, liquidator_owner=envelope.owner,
        liquidator_sub_account=envelope.sub_account, signer=envelope.signer,
    )


def settle_funding(command: m.SettleFunding, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    exchange.settle_funding(at, seq, market=command.market)


def run_risk_sweep(command: m.RunRiskSweep, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    liquidator = f"{envelope.owner}/{envelope.sub_account}" if command.liquidate else None
    exchange.risk_sweep(at, seq, liquidator=liquidator)


def propose_settlement_batch(command: m.ProposeSettlementBatch, *, exchange: Any, envelope: Envelope, at: int,
                             seq: int) -> None:
    exchange.propose_settlement_batch(
        at, seq, sequence=command.sequence, first_position=command.first_position,
        last_position=command.last_position, log_hash=command.log_hash, previous_hash=command.previous_hash,
        withdrawal_ids=list(command.withdrawal_ids),
    )


def record_settlement_batch(command: m.RecordSettlementBatch, *, exchange: Any, envelope: Envelope, at: int,
                            seq: int) -> None:
    exchange.record_settlement_batch(at, seq, sequence=command.sequence, log_hash=command.log_hash,
                                     chain_tx=command.chain_tx)


def complete_withdrawal(command: m.CompleteWithdrawal, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    """The envelope's owner is the withdrawing account; the settler key signed it."""
    exchange.complete_withdrawal(at, seq, owner=envelope.owner, withdrawal_id=command.withdrawal_id,
                                 chain_tx=command.chain_tx or None)


def refund_withdrawal(command: m.RefundWithdrawal, *, exchange: Any, envelope: Envelope, at: int, seq: int) -> None:
    exchange.refund_withdrawal(at, seq, owner=envelope.owner, withdrawal_id=command.withdrawal_id,
                               reason=command.reason)


Handler = Callable[..., None]

# The whole routing table: command type -> handler.
HANDLERS: dict[type, Handler] = {
    m.OpenAccount: open_account,
    m.AddDelegate: add_delegate,
    m.RemoveDelegate: remove_delegate,
    m.Deposit: deposit,
    m.RequestWithdrawal: request_withdrawal,
    m.Transfer: transfer,
    m.PlaceOrder: place_order,
    m.CancelOrder: cancel_order,
    m.CancelAll: cancel_all,
    m.ModifyOrder: modify_order,
    m.SetDeadManSwitch: set_dead_man_switch,
    m.CreateMarket: create_market,
    m.ChangeMarket: change_market,
    m.SetMarketStatus: set_market_status,
    m.SetOraclePrice: set_oracle_price,
    m.Liquidate: liquidate,
    m.SettleFunding: settle_funding,
    m.RunRiskSweep: run_risk_sweep,
    m.ProposeSettlementBatch: propose_settlement_batch,
    m.RecordSettlementBatch: record_settlement_batch,
    m.CompleteWithdrawal: complete_withdrawal,
    m.RefundWithdrawal: refund_withdrawal,
}


def handle(envelope: Envelope, *, exchange: Any, at: int, seq: int) -> None:
    """Route one verified command to its handler."""
    command = envelope.command
    HANDLERS[type(command)](command, exchange=exchange, envelope=envelope, at=at, seq=seq)
