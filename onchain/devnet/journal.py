"""A durable LiteSVM: journal every accepted state change, replay the journal on start.

Journal: one JSON object per line, appended and flushed (fsync) before the RPC answers:
  {"kind": "airdrop", "address": ..., "lamports": ..., "slot": ...}
  {"kind": "transaction", "raw": <base64>, "slot": ..., "unix_timestamp": ..., "block_time": ...}
Replay runs each entry again at its recorded slot and clock, with signature verification off
and past the recent-blockhash check (the recorded transactions name blockhashes of the previous
run).
Failed transactions change nothing but the fee payer's lamports (and `getSignaturesForAddress`
reports them), so they are journaled and replayed too. A torn last line (crash mid-write) is
ignored: the transaction it held was never acknowledged.

Checked on replay: every transaction lands (or fails) as it did the first time, else
`ReplayDiverged` stops the devnet. Invariant: after replay the accounts, slot and signature history equal those before the stop.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path

from onchain.rpc.local_methods import LocalRpcMethods

log = logging.getLogger("onchain.devnet")


class JournaledRpcMethods(LocalRpcMethods):
    """LocalRpcMethods that append every accepted transaction and airdrop to a journal file."""

    def __init__(self, svm, journal_path: Path) -> None:
        super().__init__(svm)
        self.journal_path = journal_path
        self.replaying = False
        journal_path.parent.mkdir(parents=True, exist_ok=True)
        self._journal = None

    def replay(self) -> int:
        """Run the journal again (called once, before serving); returns how many entries ran."""
        count = 0
        if self.journal_path.exists():
            self.replaying = True
            self.svm.with_sigverify(False)
            try:
                for entry in _read_entries(self.journal_path):
                    self._apply(entry)
                    count += 1
            finally:
                self.svm.with_sigverify(True)
                self.replaying = False
        self._journal = open(self.journal_path, "a", encoding="utf-8")
        return count

    def _apply(self, entry: dict) -> None:
        clock = self.svm.get_clock()
        if clock.slot != entry["slot"]:
            self.svm.warp_to_slot(entry["slot"])
        if entry["kind"] == "airdrop":
            super().rpc_requestAirdrop(entry["address"], entry["lamports"])
        else:
            clock = self.svm.get_clock()
            clock.unix_timestamp = entry["unix_timestamp"]
            self.svm.set_clock(clock)
            signature = self._send_raw(base64.b64decode(entry["raw"]), entry.get("block_time"))
            if (self.processed[signature].error is None) != entry.get("landed", True):
                raise ReplayDiverged(f"transaction {signature} at slot {entry['slot']}: "
                                     f"{'landed' if entry.get('landed', True) else 'failed'} before, "
                                     f"not on replay ({self.processed[signature].error})")

    def _append(self, entry: dict) -> None:
        if self.replaying or self._journal is None:
            return
        self._journal.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._journal.flush()
        os.fsync(self._journal.fileno())

    def rpc_requestAirdrop(self, address, lamports, *_):
        slot = self.svm.get_clock().slot
        signature = super().rpc_requestAirdrop(address, lamports)
        self._append({"kind": "airdrop", "address": address, "lamports": lamports, "slot": slot})
        return signature

    def _record(self, raw: bytes, slot: int, block_time: int, landed: bool) -> None:
        """Hook of LocalRpcMethods: a transaction was processed (landed or failed) at ``slot``."""
        self._append({"kind": "transaction", "raw": base64.b64encode(raw).decode(), "slot": slot,
                      "unix_timestamp": self.svm.get_clock().unix_timestamp, "block_time": block_time,
                      "landed": landed})

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()


def _read_entries(path: Path):
    with open(path, encoding="utf-8") as journal:
        for number, line in enumerate(journal, 1):
            try:
                yield json.loads(line)
            except ValueError:
                log.warning("journal %s: line %d is torn (a crash mid-write); ignored", path, number)
                return


class ReplayDiverged(RuntimeError):
    """A journaled transaction had another outcome on replay: the chain would not be the same."""
