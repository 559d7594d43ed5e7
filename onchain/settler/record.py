"""The settler's record of its batches, as events in the log (the `Settlement` aggregate).

Commands, signed by the settler's key (the engine admits it through `QD_SETTLER_PUBKEY`):
- `ProposeSettlementBatch` before a batch is sent (command id `batch-<seq>-proposed-<hash16>`,
  so the same proposal re-sent after a crash is deduplicated and a different cut replaces it);
- `RecordSettlementBatch` once the program accepted it (command id `batch-<seq>-settled`);
- `CompleteWithdrawal` per payout of the batch (command id `withdrawal-<id>-completed`).
After a crash between sending and recording, `catch_up` records the batch the chain has (its
withdrawal ids come from the log's last `BatchProposed`). Refusals that only say "already done"
(`AlreadySettled`, a dedup) are expected; any other refusal is logged loudly — the chain stays the
truth and settlement goes on, but the log's record then lags (e.g. a settler key the engine does
not admit).
"""

from __future__ import annotations

import json
import logging

from bus.event_store import EVENTS_TABLE
from client.bot_client import BotClient
from commands import messages as m
from domain.settlement_batches import settlement_aggregate_id
from onchain.settler.batch import SettlementBatch

log = logging.getLogger("onchain.settler")
DONE_ALREADY = {"AlreadySettled", "UnknownWithdrawal", "DuplicateCommand"}


def proposal_command_id(sequence: int, log_hash: bytes) -> str:
    """`batch-<seq>-proposed-<first 16 hex of the log hash>`."""
    return f"batch-{sequence}-proposed-{log_hash.hex()[:16]}"


class SettlementRecord:
    """Sends the settler's record commands and checks their receipts."""

    def __init__(self, bot: BotClient, conn) -> None:
        self.bot = bot
        self.conn = conn  # the event store's database (read-only use: the last proposal)

    async def proposed(self, batch: SettlementBatch) -> None:
        """Record a batch about to be sent."""
        await self._send(m.ProposeSettlementBatch(
            sequence=batch.sequence, first_position=batch.first_position, last_position=batch.last_position,
            log_hash=batch.log_hash.hex(), previous_hash=batch.previous_hash.hex(),
            withdrawal_ids=[payout.withdrawal_id for payout in batch.payouts],
        ), proposal_command_id(batch.sequence, batch.log_hash))

    async def settled(self, sequence: int, log_hash: bytes, chain_tx: str, withdrawals: list[tuple[str, int]]) -> None:
        """Record a landed batch and complete its withdrawals ((owner, withdrawal id) pairs)."""
        await self._send(m.RecordSettlementBatch(sequence=sequence, log_hash=log_hash.hex(), chain_tx=chain_tx),
                         f"batch-{sequence}-settled")
        for owner, withdrawal_id in withdrawals:
            await self._send(m.CompleteWithdrawal(withdrawal_id=withdrawal_id, chain_tx=chain_tx),
                             f"withdrawal-{withdrawal_id}-completed", owner=owner)

    async def catch_up(self, sequence: int, log_hash: bytes) -> None:
        """After a restart: record the chain's last batch if the log proposed it but never recorded it."""
        if sequence == 0:
            return
        proposal = self.last_proposal()
        if proposal is None or proposal["sequence"] != sequence or proposal["log_hash"] != log_hash.hex():
            return  # recorded already, or never proposed through the log (an older settler)
        log.warning("batch %s landed before a crash; recording it", sequence)
        await self.settled(sequence, log_hash, "", [(owner, withdrawal_id)
                                                    for owner, withdrawal_id in proposal.get("withdrawals", [])])

    def last_proposal(self) -> dict | None:
        """The log's last BatchProposed payload, with its withdrawals' owners, or None."""
        row = self.conn.execute(
            f"SELECT state FROM {EVENTS_TABLE} WHERE originator_id = %s AND topic LIKE %s"
            " ORDER BY originator_version DESC LIMIT 1", (settlement_aggregate_id(), "%.BatchProposed")).fetchone()
        if row is None:
            return None
        proposal = json.loads(bytes(row[0]))
        proposal["withdrawals"] = self._withdrawal_owners(proposal.get("withdrawal_ids", []))
        return proposal

    def _withdrawal_owners(self, withdrawal_ids: list[int]) -> list[tuple[str, int]]:
        """(owner, id) of each withdrawal id: the account that recorded its WithdrawalRequested."""
        owners = []
        for withdrawal_id in withdrawal_ids:
            row = self.conn.execute(
                f"SELECT created.state FROM {EVENTS_TABLE} requested JOIN {EVENTS_TABLE} created"
                " ON created.originator_id = requested.originator_id AND created.originator_version = 1"
                " WHERE requested.topic LIKE %s"
                " AND convert_from(requested.state, 'UTF8')::jsonb ->> 'withdrawal_id' = %s LIMIT 1",
                ("%.WithdrawalRequested", str(withdrawal_id))).fetchone()
            if row is not None:
                owners.append((json.loads(bytes(row[0]))["owner"], withdrawal_id))
        return owners

    async def _send(self, command, command_id: str, owner: str | None = None) -> None:
        receipt = await self.bot.send(command, owner=owner, command_id=command_id)
        if not receipt.accepted and receipt.reason not in DONE_ALREADY:
            log.error("%s %s refused: %s %s (the log's settlement record lags the chain)",
                      type(command).__name__, command_id, receipt.reason, receipt.message)
