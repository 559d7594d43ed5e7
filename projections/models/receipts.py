"""Command receipts by client command id: the terminal outcome of every command.

From `CommandReceipt.Recorded` (commands/receipts.py): command_id (the client's), owner,
sub_account, kind, accepted, reason, message, events. `seq` is the commands-stream sequence the
engine applied it at; `position` is the receipt's own log position. The first receipt for a
(owner, command id) wins (the engine answers a repeat with the original outcome).
"""

from __future__ import annotations

import json

import psycopg

from projections.event import ProjectedEvent
from projections.model import ReadModel
from projections.models.shapes import account_key
from projections.staging import Stager

COLUMNS = [("owner", "text"), ("client_command_id", "text"), ("account", "text"), ("command_id", "text"),
           ("command_type", "text"), ("outcome", "text"), ("reason_code", "text"),
           ("message", "text"), ("event_seqs", "text"), ("seq", "int8"), ("position", "int8"),
           ("at", "timestamptz")]


class ReceiptsModel(ReadModel):
    name = "receipts"
    tables = ("command_receipts",)

    def ddl(self, schema: str) -> list[str]:
        body = ", ".join(f"{n} {'bigint' if k == 'int8' else k}" for n, k in COLUMNS)
        return [f"CREATE TABLE IF NOT EXISTS {schema}.command_receipts ({body},"
                " PRIMARY KEY (owner, client_command_id))"]

    def new_batch(self) -> dict:
        return {}

    def on_CommandReceipt_Recorded(self, batch, event: ProjectedEvent) -> None:
        p = event.payload
        owner, client_id = str(p.get("owner") or event.key), str(p["command_id"])
        if (owner, client_id) in batch:
            return
        account = account_key(owner, p.get("sub_account") or 0)
        batch[(owner, client_id)] = (owner, client_id, account, client_id, p.get("kind"),
                            "accepted" if p.get("accepted") else "rejected",
                            p.get("reason") or None, p.get("message") or None,
                            json.dumps(p.get("events") or []), event.seq, event.position, event.time)

    def flush(self, conn: psycopg.Connection, schema: str, batch, stager: Stager) -> None:
        if not batch:
            return
        names = ", ".join(c for c, _ in COLUMNS)
        stager.stage("stage_receipts", COLUMNS, batch.values())
        conn.execute(f"INSERT INTO {schema}.command_receipts ({names}) SELECT {names}"
                     " FROM stage_receipts ON CONFLICT (owner, client_command_id) DO NOTHING")
