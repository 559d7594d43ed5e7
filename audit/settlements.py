"""`qd audit settlements`: every settlement batch on chain against the log.

For each `settle_batch` that landed (audit.settlement_chain), in chain order:
- sequences run 1, 2, 3, ... without a gap or a repeat;
- `previous_hash` is the previous batch's `log_hash` (32 zero bytes for the first);
- the log's `BatchProposed` for that sequence agrees (log hash, previous hash) and its
  `BatchSettled` names the same hash and the transaction;
- `log_hash` is the head hash recomputed from the stored events (audit.chain.ChainVerifier) at
  the batch's last position (from `BatchProposed`, else the chain table's `position_of`);
- deltas and withdrawals equal what the account events in (previous position, position] imply
  under the settler's netting rules (onchain.settler.netting).
The first batch that disagrees is named with what differs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import psycopg
from solders.pubkey import Pubkey

from audit.log_source import StoreLog
from audit.settlement_chain import ChainBatch, read_chain_batches
from audit.settlement_log import implied_batches, settlement_records
from onchain.gateway import ChainGateway
from onchain.rpc.failover import FailoverRpc
from onchain.settler import log_chain
from onchain.settler.batch import associated_token_address
from onchain.settler.netting import AccountKey

FEE_SUB_ACCOUNT, POOL_SUB_ACCOUNT = 0, 1  # the settlement authority's own user accounts


@dataclass
class BatchCheck:
    sequence: int
    signature: str
    last_position: int | None
    log_hash: str
    deltas: int
    withdrawals: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class SettlementsReport:
    batches: list[BatchCheck]
    chain_break: str | None
    verified_through: int

    @property
    def first_failure(self) -> BatchCheck | None:
        return next((batch for batch in self.batches if not batch.ok), None)

    @property
    def ok(self) -> bool:
        return self.first_failure is None

    def as_json(self) -> dict:
        return {"ok": self.ok, "batches": [{**asdict(b), "ok": b.ok} for b in self.batches],
                "chain_break": self.chain_break, "verified_through": self.verified_through,
                "first_failure": None if self.ok else self.first_failure.sequence}


async def audit_settlements(pg_dsn: str, rpc_urls: list[str], asset_symbols: tuple[str, ...] = ("USDC",),
                            events_table: str = "exchange_events") -> SettlementsReport:
    """Read the chain's batches and the log, compare them batch by batch."""
    rpc = FailoverRpc(rpc_urls)
    try:
        chain = await read_chain_batches(ChainGateway(rpc), asset_symbols)
    finally:
        await rpc.close()
    log = StoreLog(pg_dsn, events_table)
    records = settlement_records(log.rows(with_chain=False))
    positions = [_position(pg_dsn, batch, records.get(batch.sequence)) for batch in chain]
    authority = chain[0].authority if chain else ""
    boundaries = sorted({p for p in positions if p is not None})
    implied, chain_break, verified = implied_batches(
        log.rows(), boundaries, AccountKey(authority, FEE_SUB_ACCOUNT), AccountKey(authority, POOL_SUB_ACCOUNT))
    by_position = {batch.last_position: batch for batch in implied}
    checks = []
    previous_hash = bytes(32)
    for index, batch in enumerate(chain):
        position = positions[index]
        check = BatchCheck(batch.sequence, batch.signature, position, batch.log_hash.hex(), len(batch.deltas),
                           len(batch.withdrawals))
        _check_sequence(check, batch, index, previous_hash)
        _check_record(check, batch, records.get(batch.sequence))
        if position is None:
            check.problems.append("the log has no position for this batch's log hash")
        else:
            _check_implied(check, batch, by_position[position], chain_break)
        previous_hash = batch.log_hash
        checks.append(check)
    on_chain = {batch.sequence for batch in chain}
    for sequence in sorted(set(records) - on_chain):
        if records[sequence].settled_hash is not None:  # a proposal alone may still be in flight
            checks.append(BatchCheck(sequence, "", records[sequence].last_position, records[sequence].settled_hash,
                                     0, 0, ["the log records this batch as settled; the chain has no such batch"]))
    return SettlementsReport(checks, None if chain_break is None else str(chain_break), verified)


def _position(pg_dsn: str, batch: ChainBatch, record) -> int | None:
    if record is not None and record.last_position is not None:
        return int(record.last_position)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        try:
            return log_chain.position_of(conn, batch.log_hash)
        except log_chain.ChainMissing:
            return None


def _check_sequence(check: BatchCheck, batch: ChainBatch, index: int, previous_hash: bytes) -> None:
    if batch.sequence != index + 1:
        check.problems.append(f"sequence {batch.sequence} where {index + 1} was due (gap or repeat)")
    if batch.previous_hash != previous_hash:
        check.problems.append(f"previous_hash {batch.previous_hash.hex()} is not the previous batch's log hash "
                              f"{previous_hash.hex()}")


def _check_record(check: BatchCheck, batch: ChainBatch, record) -> None:
    if record is None or record.log_hash is None:
        check.problems.append("no BatchProposed for this sequence in the log")
    else:
        if record.log_hash != batch.log_hash.hex():
            check.problems.append(f"BatchProposed log_hash {record.log_hash} differs from the chain's")
        if record.previous_hash != batch.previous_hash.hex():
            check.problems.append(f"BatchProposed previous_hash {record.previous_hash} differs from the chain's")
    if record is None or record.settled_hash is None:
        check.problems.append("no BatchSettled for this sequence in the log")
    else:
        if record.settled_hash != batch.log_hash.hex():
            check.problems.append(f"BatchSettled log_hash {record.settled_hash} differs from the chain's")
        if record.chain_tx != batch.signature:
            check.problems.append(f"BatchSettled chain_tx {record.chain_tx} is not {batch.signature}")


def _check_implied(check: BatchCheck, batch: ChainBatch, implied, chain_break) -> None:
    if implied.head is None:
        reason = str(chain_break) if chain_break is not None else "no event at that position"
        check.problems.append(f"log hash cannot be recomputed at position {implied.last_position}: {reason}")
    elif implied.head != batch.log_hash:
        check.problems.append(f"log hash differs: chain {batch.log_hash.hex()}, "
                              f"recomputed head at {implied.last_position} {implied.head.hex()}")
    if implied.netting_error:
        check.problems.append(implied.netting_error)
    on_chain: dict = {}
    for delta in batch.deltas:
        key = (delta.owner, delta.sub_account, delta.asset)
        on_chain[key] = on_chain.get(key, 0) + delta.amount
    if on_chain != implied.deltas:
        differing = sorted(key for key in set(on_chain) | set(implied.deltas)
                           if on_chain.get(key, 0) != implied.deltas.get(key, 0))
        check.problems.append("deltas differ: " + "; ".join(
            f"{owner}/{sub} {asset} chain {on_chain.get((owner, sub, asset), 0)} "
            f"events {implied.deltas.get((owner, sub, asset), 0)}" for owner, sub, asset in differing))
    mints = {w.asset: w.mint for w in batch.withdrawals if w.mint is not None}
    chain_withdrawals = sorted((w.owner, w.sub_account, w.asset, w.amount, _chain_payee(w)) for w in batch.withdrawals)
    log_withdrawals = sorted((owner, sub, asset, amount, _log_payee(destination, asset, mints))
                             for owner, sub, asset, amount, destination in implied.withdrawals)
    if chain_withdrawals != log_withdrawals:
        check.problems.append(f"withdrawals differ: chain {chain_withdrawals}, events {log_withdrawals}")



def _chain_payee(withdrawal) -> str:
    """Where a withdrawal paid to (its destination token account), if from the exchange's vault."""
    if not withdrawal.from_exchange_vault:
        return f"paid from {withdrawal.vault}, not the exchange's vault for {withdrawal.asset}"
    return withdrawal.destination


def _log_payee(destination_owner: str, asset: str, mints: dict[str, str]) -> str:
    """The associated token account of the requested destination for the asset's mint."""
    if asset not in mints:
        return destination_owner
    return str(associated_token_address(Pubkey.from_string(destination_owner), Pubkey.from_string(mints[asset])))
