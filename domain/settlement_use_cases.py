"""Settlement use cases of the Exchange: the settler's record of on-chain batches in the log.

Operator commands (the engine admits them only from the admin or the settler key). The
withdrawal outcomes (`complete_withdrawal`, `refund_withdrawal`) stay with the account use
cases; these two record the batches themselves on the singleton `Settlement` aggregate, which
the first accepted proposal creates (a refused one leaves no trace).
"""

from .rejections import RejectReason, Rejected
from .settlement_batches import Settlement


class SettlementUseCases:
    """Mixin of Exchange: propose_settlement_batch, record_settlement_batch."""

    settlement: Settlement | None

    def propose_settlement_batch(
        self, at: int, seq: int, *, sequence: int, first_position: int, last_position: int, log_hash: str,
        previous_hash: str, withdrawal_ids: list | None = None,
    ) -> None:
        """The settler is about to send batch ``sequence`` (= last settled + 1). Rejects
        AlreadySettled, InvalidSettlementBatch."""
        withdrawal_ids = list(withdrawal_ids) if isinstance(withdrawal_ids, list) else withdrawal_ids or []
        created = self.settlement is None
        settlement = self.settlement = self.settlement or Settlement(at=at, seq=seq)
        try:
            settlement.check_proposal(sequence, first_position, last_position, log_hash, previous_hash, withdrawal_ids)
        except Rejected:
            if created:  # the record starts with its first accepted proposal
                self.settlement = None
            raise
        settlement.propose(at=at, seq=seq, sequence=sequence, first_position=first_position,
                           last_position=last_position, log_hash=log_hash, previous_hash=previous_hash,
                           withdrawal_ids=withdrawal_ids)
        self._touch(settlement)  # type: ignore[attr-defined]

    def record_settlement_batch(self, at: int, seq: int, *, sequence: int, log_hash: str, chain_tx: str) -> None:
        """The program accepted the proposed batch ``sequence``. Rejects AlreadySettled,
        InvalidSettlementBatch (no matching proposal)."""
        settlement = self.settlement
        if settlement is None:
            raise Rejected(RejectReason.INVALID_SETTLEMENT_BATCH, f"no proposal of batch {sequence}")
        settlement.check_settled(sequence, log_hash, chain_tx)
        settlement.settle(at=at, seq=seq, sequence=sequence, log_hash=log_hash, chain_tx=chain_tx)
        self._touch(settlement)  # type: ignore[attr-defined]
