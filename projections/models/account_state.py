"""Account state: positions (current and history), balances (current and history), hourly PnL.

One read model because as-of queries ("account state at sequence S") need positions and
balances at the same stream position. Positions come from Account.TradeSettled (base after,
entry notional after, realized PnL and fees of the command); balances from deposits,
withdrawals, transfers, settled PnL and fees, funding and liquidation penalties (USDC settles).
History rows carry the position of the event that changed them: the as-of query reads the last
history row at or below S. Average entry price = entry_notional * 1e9 // |size| (rounded down).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

import psycopg

from projections.event import ProjectedEvent
from projections.model import ReadModel
from projections.models.keyed import append_rows, load_rows, upsert_rows
from projections.models.shapes import BASE_SCALE, account_key, account_of
from projections.staging import Stager

SETTLEMENT_ASSET = "USDC"  # domain.ids.SETTLEMENT_ASSET
POSITION_COLUMNS = [("account", "text"), ("market", "text"), ("size", "int8"),
                    ("entry_notional", "int8"), ("entry_price", "int8"), ("realized_pnl", "int8"),
                    ("fees", "int8"), ("position", "int8"), ("at", "timestamptz")]
BALANCE_COLUMNS = [("account", "text"), ("asset", "text"), ("amount", "int8"),
                   ("position", "int8"), ("at", "timestamptz")]
BALANCE_HISTORY_COLUMNS = [("account", "text"), ("asset", "text"), ("position", "int8"),
                           ("delta", "int8"), ("amount", "int8"), ("reason", "text"),
                           ("at", "timestamptz")]
PNL_COLUMNS = [("account", "text"), ("hour", "timestamptz"), ("realized_pnl", "int8"),
               ("fees", "int8"), ("funding", "int8"), ("volume", "int8")]


def _sql(columns: list[tuple[str, str]]) -> str:
    return ", ".join(f"{name} {'bigint' if kind == 'int8' else kind} NOT NULL" for name, kind in columns)


class AccountBatch:
    def __init__(self) -> None:
        self.positions: dict[tuple, dict] = {}
        self.balances: dict[tuple, dict] = {}
        self.position_history: list[tuple] = []
        self.balance_history: dict[tuple, tuple] = {}
        self.pnl: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])


class AccountStateModel(ReadModel):
    name = "account_state"
    tables = ("positions", "positions_history", "balances", "balance_history", "pnl_hourly")

    def ddl(self, schema: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {schema}.positions ({_sql(POSITION_COLUMNS)}, PRIMARY KEY (account, market))",
            f"CREATE TABLE IF NOT EXISTS {schema}.positions_history ({_sql(POSITION_COLUMNS)}, PRIMARY KEY (account, market, position))",
            f"CREATE TABLE IF NOT EXISTS {schema}.balances ({_sql(BALANCE_COLUMNS)}, PRIMARY KEY (account, asset))",
            f"CREATE TABLE IF NOT EXISTS {schema}.balance_history ({_sql(BALANCE_HISTORY_COLUMNS)}, PRIMARY KEY (account, asset, position, reason))",
            f"CREATE TABLE IF NOT EXISTS {schema}.pnl_hourly ({_sql(PNL_COLUMNS)}, PRIMARY KEY (account, hour))",
        ]

    def new_batch(self) -> AccountBatch:
        return AccountBatch()

    def load(self, conn, schema, batch: AccountBatch, events) -> None:
        position_keys, balance_keys = set(), set()
        for event in events:
            payload = event.payload
            if event.type == "TradeSettled":
                for settlement in payload["settlements"]:
                    account = account_key(event.key, settlement["sub_account"])
                    position_keys.add((account, str(payload["market"])))
                    balance_keys.add((account, SETTLEMENT_ASSET))
            elif event.type == "Transferred":
                asset = str(payload["asset"])
                balance_keys.add((account_of(event, "from_sub_account"), asset))
                balance_keys.add((account_of(event, "to_sub_account"), asset))
            else:
                balance_keys.add((account_of(event), str(payload.get("asset") or SETTLEMENT_ASSET)))
                if event.type in ("Liquidated", "LiquidationTakenOver"):
                    position_keys.add((account_of(event), str(payload["market"])))
        batch.positions.update(load_rows(conn, f"{schema}.positions", ("account", "market"),
                                         [c for c, _ in POSITION_COLUMNS], position_keys))
        batch.balances.update(load_rows(conn, f"{schema}.balances", ("account", "asset"),
                                        [c for c, _ in BALANCE_COLUMNS], balance_keys))

    # --- handlers -------------------------------------------------------------------------
    def on_Account_TradeSettled(self, batch: AccountBatch, event: ProjectedEvent) -> None:
        market = str(event.payload["market"])
        for settlement in event.payload["settlements"]:
            account = account_key(event.key, settlement["sub_account"])
            realized, fees = int(settlement["realized_pnl"]), int(settlement["fees"])
            self._set_position(batch, event, account, market, int(settlement["base_after"]),
                               int(settlement["entry_notional_after"]), realized, fees)
            self._credit(batch, event, account, SETTLEMENT_ASSET, realized - fees, "trade")
            pnl = batch.pnl[(account, _hour(event.time))]
            pnl[0] += realized
            pnl[1] += fees
            pnl[3] += sum(int(f["price"]) * int(f["size"]) // BASE_SCALE for f in settlement["fills"])

    def on_Account_Deposited(self, batch: AccountBatch, event: ProjectedEvent) -> None:
        self._credit(batch, event, account_of(event), str(event.payload["asset"]),
                     int(event.payload["amount"]), "deposit")

    def on_Account_WithdrawalRequested(self, batch: AccountBatch, event: ProjectedEvent) -> None:
        self._credit(batch, event, account_of(event), str(event.payload["asset"]),
                     -int(event.payload["amount"]), "withdrawal")

    def on_Account_WithdrawalRefunded(self, batch: AccountBatch, event: ProjectedEvent) -> None:
        self._credit(batch, event, account_of(event), str(event.payload["asset"]),
                     int(event.payload["amount"]), "withdrawal_refund")

    def on_Account_Transferred(self, batch: AccountBatch, event: ProjectedEvent) -> None:
        asset, amount = str(event.payload["asset"]), int(event.payload["amount"])
        self._credit(batch, event, account_of(event, "from_sub_account"), asset, -amount, "transfer_out")
        self._credit(batch, event, account_of(event, "to_sub_account"), asset, amount, "transfer_in")

    def on_Account_FundingPaid(self, batch: AccountBatch, event: ProjectedEvent) -> None:
        amount = int(event.payload["amount"])
        self._credit(batch, event, account_of(event), SETTLEMENT_ASSET, amount, "funding")
        batch.pnl[(account_of(event), _hour(event.time))][2] += amount

    def on_Account_Liquidated(self, batch: AccountBatch, event: ProjectedEvent) -> None:
        """The position after, its realized PnL and the penalty charged."""
        payload, account = event.payload, account_of(event)
        realized, penalty = int(payload.get("realized_pnl") or 0), int(payload.get("penalty") or 0)
        self._set_position(batch, event, account, str(payload["market"]),
                           int(payload.get("base_after") or 0),
                           int(payload.get("entry_notional_after") or 0), realized, 0)
        self._credit(batch, event, account, SETTLEMENT_ASSET, realized - penalty, "liquidation")
        batch.pnl[(account, _hour(event.time))][0] += realized

    def on_Account_LiquidationTakenOver(self, batch: AccountBatch, event: ProjectedEvent) -> None:
        """The liquidator's side: the position it took over, realized PnL and its reward."""
        payload, account = event.payload, account_of(event)
        realized = int(payload.get("realized_pnl") or 0)
        self._set_position(batch, event, account, str(payload["market"]), int(payload["base_after"]),
                           int(payload["entry_notional_after"]), realized, 0)
        self._credit(batch, event, account, SETTLEMENT_ASSET, realized + int(payload.get("reward") or 0),
                     "liquidation_takeover")
        batch.pnl[(account, _hour(event.time))][0] += realized

    def on_Account_DeficitCovered(self, batch: AccountBatch, event: ProjectedEvent) -> None:
        covered = int(event.payload["insurance_covered"]) + int(event.payload["adl_covered"])
        self._credit(batch, event, account_of(event), SETTLEMENT_ASSET, covered, "deficit_covered")

    def on_Account_AutoDeleveraged(self, batch: AccountBatch, event: ProjectedEvent) -> None:
        self._credit(batch, event, account_of(event), SETTLEMENT_ASSET, -int(event.payload["amount"]),
                     "auto_deleveraged")

    # --- state changes --------------------------------------------------------------------
    def _set_position(self, batch: AccountBatch, event: ProjectedEvent, account: str, market: str,
                      size: int, entry_notional: int, realized: int, fees: int) -> None:
        row = batch.positions.setdefault((account, market), {
            "account": account, "market": market, "realized_pnl": 0, "fees": 0})
        row.update(size=size, entry_notional=entry_notional,
                   entry_price=entry_notional * BASE_SCALE // abs(size) if size else 0,
                   realized_pnl=row["realized_pnl"] + realized, fees=row["fees"] + fees,
                   position=event.position, at=event.time)
        batch.position_history.append(tuple(row[c] for c, _ in POSITION_COLUMNS))

    def _credit(self, batch: AccountBatch, event: ProjectedEvent, account: str, asset: str,
                delta: int, reason: str) -> None:
        row = batch.balances.setdefault((account, asset), {
            "account": account, "asset": asset, "amount": 0, "position": 0, "at": event.time})
        row.update(amount=row["amount"] + delta, position=event.position, at=event.time)
        # Several fills of one order: one history row per (account, asset, event, reason).
        key = (account, asset, event.position, reason)
        previous = batch.balance_history.get(key)
        total = delta + (previous[3] if previous else 0)
        batch.balance_history[key] = (account, asset, event.position, total, row["amount"], reason, event.time)

    def flush(self, conn: psycopg.Connection, schema: str, batch: AccountBatch, stager: Stager) -> None:
        upsert_rows(conn, stager, f"{schema}.positions", POSITION_COLUMNS, ("account", "market"),
                    batch.positions.values())
        upsert_rows(conn, stager, f"{schema}.balances", BALANCE_COLUMNS, ("account", "asset"),
                    batch.balances.values())
        # Several fills of one event on one position: keep the last state per (account, market, position).
        last = {(row[0], row[1], row[7]): row for row in batch.position_history}
        append_rows(conn, stager, f"{schema}.positions_history", POSITION_COLUMNS, last.values())
        append_rows(conn, stager, f"{schema}.balance_history", BALANCE_HISTORY_COLUMNS,
                    batch.balance_history.values())
        if batch.pnl:
            stager.stage("stage_pnl_hourly", PNL_COLUMNS,
                         [(a, h, *values) for (a, h), values in batch.pnl.items()])
            conn.execute(f"""INSERT INTO {schema}.pnl_hourly AS p SELECT * FROM stage_pnl_hourly
                ON CONFLICT (account, hour) DO UPDATE SET
                realized_pnl = p.realized_pnl + excluded.realized_pnl, fees = p.fees + excluded.fees,
                funding = p.funding + excluded.funding, volume = p.volume + excluded.volume""")


def _hour(time: datetime) -> datetime:
    return time.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
