"""Bit-for-bit determinism across processes: the same commands give the same state hash and the
same event log digest under different hash seeds (set and dict orders must never leak)."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

PROGRAM = """
import hashlib, json
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Mapper, UUIDAsHex
from tests.unit.domain.conftest import Commands
from tests.unit.domain.scenarios import grand_tour
transcoder = JSONTranscoder(); transcoder.register(UUIDAsHex()); transcoder.register(DatetimeAsISO())
mapper = Mapper(transcoder=transcoder)
exchange, events = grand_tour(Commands())
log = hashlib.sha256()
for event in events:
    stored = mapper.to_stored_event(event)
    log.update(str(stored.originator_id).encode() + str(stored.originator_version).encode() + stored.topic.encode() + stored.state)
print(exchange.state_hash(), log.hexdigest())
"""


def run_with_hash_seed(seed: str) -> str:
    environment = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", PROGRAM], cwd=REPO, env=environment, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_same_commands_same_bytes_in_other_processes():
    assert run_with_hash_seed("1") == run_with_hash_seed("4242")
