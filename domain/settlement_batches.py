"""The on-chain settlement record: one singleton aggregate, `Settlement`, in the event log.

The settler proposes each batch it is about to send (`BatchProposed`: its sequence, the log
positions it nets, the audit-chain hash at its last position, the previous batch's hash and the
withdrawals it pays) and records it once the program accepted it (`BatchSettled`, with the
transaction). So the log itself says which part of it is settled on chain.

Invariants: settled sequences are 1, 2, 3, ... without gaps; a batch settles only after a
proposal of the same sequence and log hash; a proposal's sequence is the last settled + 1 and its
previous hash the last settled hash (re-proposing the still unsettled sequence replaces the
proposal, e.g. after a settler restart cut the batch differently); a settled sequence never
changes again (`AlreadySettled`). Hashes are 64 lower-case hex characters.
"""

import uuid

from eventsourcing.domain import event

from .aggregate import DomainAggregate
from .ids import QUANTDESK_NAMESPACE
from .rejections import RejectReason, Rejected

NO_HASH = "0" * 64  # the previous hash of batch 1 (the program's initial log hash)
_HEX = frozenset("0123456789abcdef")


def settlement_aggregate_id() -> uuid.UUID:
    """The single Settlement aggregate's id (uuid5 of its name)."""
    return uuid.uuid5(QUANTDESK_NAMESPACE, "settlement")


class Settlement(DomainAggregate):
    """Proposed and settled on-chain batches."""

    @staticmethod
    def create_id():  # noqa: ANN205
        """The singleton's fixed id."""
        return settlement_aggregate_id()

    @event("Created")
    def __init__(self, at: int, seq: int) -> None:
        self.last_settled_sequence = 0
        self.last_settled_hash = NO_HASH
        self.last_settled_position = 0
        self.proposal: dict | None = None

    @event("BatchProposed")
    def propose(self, at: int, seq: int, sequence: int, first_position: int, last_position: int, log_hash: str,
                previous_hash: str, withdrawal_ids: list) -> None:
        """The settler is about to send batch ``sequence`` (replaces an unsettled proposal)."""
        self.proposal = {"sequence": sequence, "first_position": first_position, "last_position": last_position,
                         "log_hash": log_hash, "previous_hash": previous_hash,
                         "withdrawal_ids": list(withdrawal_ids)}

    @event("BatchSettled")
    def settle(self, at: int, seq: int, sequence: int, log_hash: str, chain_tx: str) -> None:
        """The program accepted the proposed batch ``sequence``."""
        self.last_settled_sequence = sequence
        self.last_settled_hash = log_hash
        self.last_settled_position = self.proposal["last_position"] if self.proposal else self.last_settled_position
        self.proposal = None

    # ----- guards ---------------------------------------------------------------------------

    def check_proposal(self, sequence: int, first_position: int, last_position: int, log_hash: str,
                       previous_hash: str, withdrawal_ids: list) -> None:
        """Refuse a malformed proposal, a settled sequence or one that is not next."""
        check_hash(log_hash)
        check_hash(previous_hash)
        if type(first_position) is not int or type(last_position) is not int or \
                not 0 < first_position <= last_position:
            raise Rejected(RejectReason.INVALID_SETTLEMENT_BATCH, "positions must satisfy 0 < first <= last")
        if not isinstance(withdrawal_ids, list) or any(type(i) is not int or i < 0 for i in withdrawal_ids):
            raise Rejected(RejectReason.INVALID_SETTLEMENT_BATCH, "withdrawal ids must be non-negative ints")
        self.check_sequence(sequence)
        if previous_hash != self.last_settled_hash:
            raise Rejected(RejectReason.INVALID_SETTLEMENT_BATCH,
                           f"previous hash {previous_hash} is not the last settled {self.last_settled_hash}")

    def check_settled(self, sequence: int, log_hash: str, chain_tx: str) -> None:
        """Refuse a settlement without a matching proposal, or of an already settled sequence."""
        check_hash(log_hash)
        if not isinstance(chain_tx, str) or len(chain_tx) > 128:
            raise Rejected(RejectReason.INVALID_SETTLEMENT_BATCH, "chain_tx must be a string of <= 128")
        self.check_sequence(sequence)
        if self.proposal is None or self.proposal["sequence"] != sequence or self.proposal["log_hash"] != log_hash:
            raise Rejected(RejectReason.INVALID_SETTLEMENT_BATCH, f"no proposal of batch {sequence} with hash {log_hash}")

    def check_sequence(self, sequence: int) -> None:
        """The sequence must be the next one to settle."""
        if type(sequence) is not int or sequence < 1:
            raise Rejected(RejectReason.INVALID_SETTLEMENT_BATCH, "sequence must be a positive int")
        if sequence <= self.last_settled_sequence:
            raise Rejected(RejectReason.ALREADY_SETTLED, f"batch {sequence} is settled")
        if sequence != self.last_settled_sequence + 1:
            raise Rejected(RejectReason.INVALID_SETTLEMENT_BATCH,
                           f"batch {sequence} is not next (last settled {self.last_settled_sequence})")

    # ----- state ----------------------------------------------------------------------------

    def restore_snapshot_state(self, state: dict) -> None:
        """Rebuild from `to_state()` data."""
        self.__dict__.update(state)

    def to_state(self) -> dict:
        """Canonical plain state."""
        return {"last_settled_sequence": self.last_settled_sequence, "last_settled_hash": self.last_settled_hash,
                "last_settled_position": self.last_settled_position, "proposal": self.proposal}


def check_hash(value: str) -> None:
    """A 32-byte hash as 64 lower-case hex characters."""
    if not isinstance(value, str) or len(value) != 64 or not set(value) <= _HEX:
        raise Rejected(RejectReason.INVALID_SETTLEMENT_BATCH, "hashes are 64 lower-case hex characters")
