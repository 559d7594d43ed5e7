"""The settlement record in the log: the `Settlement` aggregate, its commands and who may send them.

Pure: the domain's Exchange, the command handlers and the engine's intake, without servers.
"""

import pytest
from solders.keypair import Keypair

from bus.engine_intake import OperatorKeys, receive
from commands import envelope as envelopes
from commands import messages as m
from commands.handlers import handle
from domain.exchange import Exchange
from domain.rejections import Rejected
from domain.settlement_batches import NO_HASH, settlement_aggregate_id
from tests.unit.stream_message import AT, FakeMessage

SETTLER, ADMIN, TRADER = Keypair(), Keypair(), Keypair()
H1, H2, H3 = "1" * 64, "2" * 64, "3" * 64


def command(exchange: Exchange, cmd, seq: int, owner: str | None = None, signer=SETTLER) -> None:
    envelope = envelopes.sign(envelopes.UnsignedEnvelope(
        command_id=f"c-{seq}", owner=owner or str(signer.pubkey()), command=cmd, expires_at=AT + 1), signer)
    handle(envelope, exchange=exchange, at=AT + seq, seq=seq)


def propose(sequence, first, last, log_hash, previous, withdrawals=()):
    return m.ProposeSettlementBatch(sequence=sequence, first_position=first, last_position=last,
                                    log_hash=log_hash, previous_hash=previous, withdrawal_ids=list(withdrawals))


def reason_of(exchange, cmd, seq, **options) -> str:
    with pytest.raises(Rejected) as refused:
        command(exchange, cmd, seq, **options)
    exchange.collect_changed()
    return refused.value.reason.value


def test_batches_are_proposed_then_settled_in_sequence():
    exchange = Exchange()
    # The settler proposes batch 1 (positions 1..40) and records it once it landed.
    command(exchange, propose(1, 1, 40, H1, NO_HASH), 1)
    command(exchange, m.RecordSettlementBatch(sequence=1, log_hash=H1, chain_tx="sig1"), 2)
    changed = exchange.collect_changed()
    assert [type(e).__name__ for e in changed[0].collect_events()] == ["Created", "BatchProposed", "BatchSettled"]
    assert changed[0].id == settlement_aggregate_id()
    # Batch 2 is proposed, re-proposed differently after a restart (replaces it), then settled.
    command(exchange, propose(2, 41, 50, H2, H1), 3)
    command(exchange, propose(2, 41, 60, H3, H1, [7]), 4)
    command(exchange, m.RecordSettlementBatch(sequence=2, log_hash=H3, chain_tx="sig2"), 5)
    assert exchange.settlement.to_state() == {"last_settled_sequence": 2, "last_settled_hash": H3,
                                              "last_settled_position": 60, "proposal": None}
    # The record survives a rebuild from its aggregates.
    assert Exchange.from_aggregates(exchange.all_aggregates()).settlement is exchange.settlement


def test_wrong_batches_are_refused_with_their_reason():
    exchange = Exchange()
    # Nothing proposed: nothing to record; the refused first proposal leaves no record at all.
    assert reason_of(exchange, m.RecordSettlementBatch(sequence=1, log_hash=H1), 1) == "InvalidSettlementBatch"
    assert reason_of(exchange, propose(2, 1, 5, H1, NO_HASH), 2) == "InvalidSettlementBatch"
    assert exchange.settlement is None
    command(exchange, propose(1, 1, 5, H1, NO_HASH), 3)
    # A settlement of another hash than the proposal's, a proposal on a wrong previous hash.
    assert reason_of(exchange, m.RecordSettlementBatch(sequence=1, log_hash=H2), 4) == "InvalidSettlementBatch"
    command(exchange, m.RecordSettlementBatch(sequence=1, log_hash=H1), 5)
    assert reason_of(exchange, propose(2, 6, 9, H2, H3), 6) == "InvalidSettlementBatch"
    # A settled sequence is never proposed nor settled again.
    assert reason_of(exchange, propose(1, 1, 5, H1, NO_HASH), 7) == "AlreadySettled"
    assert reason_of(exchange, m.RecordSettlementBatch(sequence=1, log_hash=H1), 8) == "AlreadySettled"


def test_withdrawals_complete_or_refund_for_their_owner():
    exchange = Exchange()
    owner = str(TRADER.pubkey())
    exchange.deposit(AT, 1, owner=owner, sub_account=0, asset="USDC", amount=100_000_000)
    first = exchange.request_withdrawal(AT, 2, owner=owner, sub_account=0, asset="USDC", amount=30_000_000)
    second = exchange.request_withdrawal(AT, 3, owner=owner, sub_account=0, asset="USDC", amount=20_000_000)
    command(exchange, m.CompleteWithdrawal(withdrawal_id=first, chain_tx="sig"), 4, owner=owner)
    command(exchange, m.RefundWithdrawal(withdrawal_id=second, reason="destination closed"), 5, owner=owner)
    events = [type(e).__name__ for e in exchange.accounts[owner].collect_events()]
    assert events[-2:] == ["Withdrawn", "WithdrawalRefunded"]
    assert reason_of(exchange, m.CompleteWithdrawal(withdrawal_id=first), 6, owner=owner) == "UnknownWithdrawal"


@pytest.mark.parametrize("cmd", [propose(1, 1, 2, H1, NO_HASH), m.RecordSettlementBatch(sequence=1, log_hash=H1),
                                 m.CompleteWithdrawal(withdrawal_id=1), m.RefundWithdrawal(withdrawal_id=1, reason="x")])
def test_only_the_settler_or_admin_key_may_send_settlement_records(cmd):
    operators = OperatorKeys(admin=frozenset({str(ADMIN.pubkey())}), settlers=frozenset({str(SETTLER.pubkey())}))

    def received(signer):
        unsigned = envelopes.UnsignedEnvelope(command_id="c-1", owner=str(TRADER.pubkey()), command=cmd,
                                              expires_at=AT + 1)
        return receive(FakeMessage(envelopes.encode(envelopes.sign(unsigned, signer))), operators)

    assert received(SETTLER).authenticated and received(ADMIN).authenticated
    assert received(TRADER).reason == "NotAuthorized"
