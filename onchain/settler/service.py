"""The settler's loop: follow account events, cut batches that fit, settle each exactly once.

Start-up reconciles with the chain before anything else: the exchange's `last_sequence` and
`log_hash` say which batch landed last and — through the audit chain — up to which log
position; if the log's last `BatchProposed` is that batch but was never recorded as settled (the
crash happened between sending and recording), it is recorded now (`onchain.settler.record`); a
proposal above it is superseded by the next proposal of the same sequence. Then events are
followed from that position on, so nothing is settled twice or skipped.

The record: each batch is proposed in the log before it is sent and recorded settled after it
landed, with its withdrawals completed (engine commands signed by the settler's key).

Exactly once on chain: every batch carries sequence = last + 1 and the previous hash; the
program refuses a replay (SequenceReplayed), so a re-sent transaction cannot settle twice.

Cutting: an event is folded into the pending netting; if the batch no longer fits one
transaction, the event is taken out, the pending batch is settled, and the event starts the
next one. A pending batch is also settled when the feed is idle for `idle_seconds` or when it
has waited `max_wait_seconds`.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import time
from dataclasses import dataclass, field

import psycopg
from solana.rpc.core import RPCException
from solders.instruction import Instruction
from solders.pubkey import Pubkey
from spl.token.instructions import create_idempotent_associated_token_account
from solders.keypair import Keypair

from onchain.assets import AssetMap
from onchain.gateway import ChainGateway, is_program_error
from onchain.interface.spec import ERROR_CODES
from onchain.rpc.failover import FailoverRpc
from onchain.settler import log_chain
from onchain.settler.batch import (MAX_ACCOUNT_LOCKS, SettlementBatch, associated_token_address, batch_from,
                                   fits)
from onchain.settler.event_feed import AccountEventFeed, payload
from bus import nats_servers
from client.bot_client import BotClient
from onchain.settler.journal import Journal
from onchain.settler.lookup import SettlerLookupTable
from onchain.settler.netting import AccountKey, CannotSettle, Netting
from onchain.settler.record import SettlementRecord
from observability.health import rpc_reachable
from observability.metrics import SettlerMetrics

log = logging.getLogger("onchain.settler")
FEE_SUB_ACCOUNT, POOL_SUB_ACCOUNT = 0, 1  # the authority's own user accounts
CRASH_AFTER_SUBMIT = "QD_SETTLER_CRASH_AFTER_SUBMIT"  # fault injection for the crash test


class BatchRefused(RuntimeError):
    """The program refused a batch for a reason the settler cannot repair by itself."""


@dataclass
class SettlerSettings:
    nats_url: str
    pg_dsn: str
    rpc_urls: list[str]
    authority: Keypair
    asset_symbols: tuple[str, ...] = ("USDC",)
    idle_seconds: float = 0.3
    max_wait_seconds: float = 2.0
    lookup_table: bool = True  # v0 transactions through the settler's address lookup table
    max_account_locks: int = MAX_ACCOUNT_LOCKS
    install_chain: bool = False  # dev stacks: install the audit hash chain if it is missing
    record_key: Keypair | None = None  # signs the log record commands (default: the authority)
    crash_after_submit: bool = field(default_factory=lambda: os.environ.get(CRASH_AFTER_SUBMIT) == "1")


class Settler:
    """One run of the settler."""

    def __init__(self, settings: SettlerSettings, metrics: SettlerMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or SettlerMetrics()
        self.started = False
        self.authority = settings.authority
        owner = str(self.authority.pubkey())
        self.fee_account = AccountKey(owner, FEE_SUB_ACCOUNT)
        self.pool_account = AccountKey(owner, POOL_SUB_ACCOUNT)
        self.sequence = 0
        self.previous_hash = log_chain.NOTHING_SETTLED
        self.position = 0
        self.settled_batches: list[SettlementBatch] = []
        self.settled_compute_units: list[int] = []  # per settled batch, as the chain reported

    async def start(self) -> None:
        """Connect, check the audit chain, open the fee and pool accounts, reconcile."""
        self.nc = await nats_servers.connect(self.settings.nats_url, "qd-settler")
        self.conn = await asyncio.to_thread(psycopg.connect, self.settings.pg_dsn, autocommit=True)
        if self.settings.install_chain:
            await asyncio.to_thread(log_chain.install, self.conn)
        log_chain.check_installed(self.conn)
        self.journal = Journal(self.conn)
        self.bot = await BotClient.connect(self.settings.nats_url, self.settings.record_key or self.authority)
        self.record = SettlementRecord(self.bot, self.conn)
        self.rpc = FailoverRpc(self.settings.rpc_urls)
        self.gateway = ChainGateway(self.rpc)
        self.client = self.gateway.client
        state = await self.gateway.exchange_state()
        self.assets = AssetMap(self.settings.asset_symbols, state.mints)
        await self._open_own_accounts()
        self.table = None
        if self.settings.lookup_table:
            self.table = SettlerLookupTable(self.gateway, self.authority, self.journal)
            await self.table.open()
        self.feed = AccountEventFeed(self.nc.jetstream())
        await self.reconcile()
        self.started = True

    def readiness(self) -> dict[str, bool]:
        """Started and connected to NATS, PostgreSQL and an RPC endpoint (attribute reads only:
        called from the health server's thread)."""
        nc, conn = getattr(self, "nc", None), getattr(self, "conn", None)
        return {"started": self.started, "nats": bool(nc is not None and nc.is_connected),
                "postgres": bool(conn is not None and not conn.closed),
                "rpc": rpc_reachable(getattr(self, "rpc", None))}

    async def _open_own_accounts(self) -> None:
        """The fee and pool user accounts (sub-accounts 0 and 1 of the settlement authority)."""
        for sub_account in (FEE_SUB_ACCOUNT, POOL_SUB_ACCOUNT):
            if await self.gateway.user_account(self.authority.pubkey(), sub_account) is None:
                instruction = self.client.create_user_account(self.authority.pubkey(), sub_account)
                landed = await self.gateway.send([instruction], self.authority)
                if landed.error is not None:
                    raise BatchRefused(f"cannot open settler account {sub_account}: {landed.error}")

    async def reconcile(self) -> None:
        """Align with the chain: last sequence, its hash, its log position; restart the feed there."""
        state = await self.gateway.exchange_state()
        position = log_chain.position_of(self.conn, state.log_hash)
        await self.record.catch_up(state.last_sequence, state.log_hash)
        self.sequence, self.previous_hash, self.position = state.last_sequence, state.log_hash, position
        self.netting = self._new_netting()
        await self.feed.start_after(position)
        self.metrics.settled_through(position)
        log.warning("settler at batch %s, log position %s", self.sequence, self.position)

    def _new_netting(self) -> Netting:
        netting = Netting(self.fee_account, self.pool_account)
        netting.last_position = self.position
        return netting

    # --- the loop ------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Follow, net and settle until ``stop`` is set."""
        pending_since: float | None = None
        while not stop.is_set():
            got = await self.feed.next(timeout=self.settings.idle_seconds)
            if got is None:
                if not self.netting.is_empty():
                    await self.settle_pending()
                self.metrics.event_received(self.netting.last_position, pending=False)  # caught up
                pending_since = None
                continue
            owner, event = got
            if event.position <= self.netting.last_position:
                continue  # already netted (a redelivery of the ordered consumer)
            if not self._fold(owner, event):
                await self.settle_pending()  # full: settle what is pending, then start over with it
                if not self._fold(owner, event):
                    raise CannotSettle(f"event at position {event.position} alone does not fit one transaction")
            self.metrics.event_received(event.position)
            if pending_since is None and not self.netting.is_empty():
                pending_since = time.monotonic()
            if pending_since is not None and time.monotonic() - pending_since >= self.settings.max_wait_seconds:
                await self.settle_pending()
                pending_since = None

    def _fold(self, owner: str, event) -> bool:
        """Fold one event into the pending netting; False (and unchanged) if it would not fit."""
        before = copy.deepcopy(self.netting)
        try:
            self.netting.apply(owner, event.event_type, payload(event), event.position)
            for asset in {asset for _, asset, _ in self.netting.entries()} | {p.asset for p in self.netting.payouts}:
                self.assets.index_of(asset)  # an asset without a mint on chain cannot settle
        except (KeyError, ValueError, TypeError) as error:
            raise CannotSettle(f"event at position {event.position} ({event.event_type}): {error!r}") from error
        if fits(self.netting, self.settings.lookup_table, self.settings.max_account_locks):
            return True
        self.netting = before
        return False

    async def settle_pending(self) -> SettlementBatch | None:
        """Settle the pending netting as the next batch (nothing when it moves no money)."""
        if self.netting.is_empty():
            return None
        log_hash = await asyncio.to_thread(log_chain.hash_at, self.conn, self.netting.last_position)
        batch = batch_from(self.netting, self.sequence + 1, self.previous_hash, log_hash, self.position + 1)
        await self.record.proposed(batch)
        self.metrics.batch_proposed()
        accounts = len({account for account, _, _ in batch.deltas} | {payout.account for payout in batch.payouts})
        try:
            await self._open_destinations(batch)
            landed = await self._send(batch.instruction(self.client, self.authority.pubkey(), self.assets))
        except Exception:
            self.metrics.batch_settled(accounts, landed=False)
            raise
        if landed is None:  # the chain already has this sequence: a twin of ours landed it
            self.metrics.batch_replayed()
            await self.reconcile()
            return None
        if self.settings.crash_after_submit:
            log.error("fault injection: crashing between submit and record of batch %s", batch.sequence)
            os._exit(70)
        await self.record.settled(batch.sequence, log_hash, landed.signature,
                                  [(payout.account.owner, payout.withdrawal_id) for payout in batch.payouts])
        self.sequence, self.previous_hash, self.position = batch.sequence, log_hash, batch.last_position
        self.netting = self._new_netting()
        self.settled_batches.append(batch)
        self.settled_compute_units.append(landed.compute_units or 0)
        self.metrics.batch_settled(accounts, landed=True, position=batch.last_position)
        log.info("settled batch %s (positions %s..%s, %s deltas, %s withdrawals, %s CU)", batch.sequence,
                 batch.first_position, batch.last_position, len(batch.deltas), len(batch.payouts),
                 landed.compute_units)
        return batch

    async def _open_destinations(self, batch: SettlementBatch) -> None:
        """Create missing destination token accounts (idempotently; the authority pays the rent),
        so a payout to a wallet that never held the asset cannot block the batch."""
        missing = []
        for payout in batch.payouts:
            owner, mint = Pubkey.from_string(payout.destination), self.assets.mint_of(payout.asset)
            if await self.gateway.account_data(associated_token_address(owner, mint)) is None:
                missing.append(create_idempotent_associated_token_account(self.authority.pubkey(), owner, mint))
        for start in range(0, len(missing), 4):
            landed = await self.gateway.send(missing[start:start + 4], self.authority)
            if landed.error is not None:
                raise BatchRefused(f"cannot open destination token accounts: {landed.error}")

    async def _send(self, instruction: Instruction):
        try:
            if self.table is not None:
                landed = await self.gateway.send_signed(await self.table.transaction(instruction))
            else:
                landed = await self.gateway.send([instruction], self.authority)
        except RPCException as refused:
            if is_program_error(refused, ERROR_CODES["SequenceReplayed"]):
                return None
            raise BatchRefused(str(refused)) from refused
        if landed.error is not None:
            if f"Custom({ERROR_CODES['SequenceReplayed']})" in str(landed.error):
                return None
            raise BatchRefused(f"{landed.error}: {landed.logs[-3:]}")
        return landed

    async def close(self) -> None:
        """Release what start() opened (safe after a partial start)."""
        self.started = False
        closings = [getattr(self, "feed", None) and self.feed.close(), getattr(self, "bot", None) and self.bot.close(),
                    getattr(self, "nc", None) and self.nc.close(),
                    getattr(self, "rpc", None) and self.rpc.close()]
        for closing in closings:
            if closing is None:
                continue
            try:
                await closing
            except Exception:  # noqa: BLE001 (closing after a failure)
                log.debug("close failed", exc_info=True)
        if getattr(self, "conn", None) is not None:
            self.conn.close()
