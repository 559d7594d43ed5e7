"""The deposit watcher's loop: poll the program's finalized transactions, credit each deposit once.

Per poll: signatures naming the program newer than the cursor (oldest first) -> each
transaction's logs -> its deposits (`deposits.deposits_in`) -> one signed `Deposit` command each,
sent with the bot client and command id derived from (signature, instruction index), so the
engine credits it once even when the watcher re-reads a transaction after a crash (the
commands stream drops a repeat within its window, the engine refuses the id forever after);
a deposit whose command id already has a stored receipt is not sent again (counted a duplicate).
The cursor (last fully credited signature) is written to a file only after every deposit of
that transaction got its receipt: a crash re-reads, never skips.

Known limits: the cursor must still be known to the RPC node (getSignaturesForAddress `until`);
a rejected Deposit (e.g. an asset the engine does not know) or an asset index without a
configured symbol is logged loudly (ERROR) and skipped. The latter was never sent, so re-reading
with a reset cursor once the asset is configured credits it; an engine rejection is final for
that command id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from solana.rpc.commitment import Finalized
from solana.rpc.core import RPCException
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from client.bot_client import BotClient
from commands import messages
from onchain.assets import AssetMap
from onchain.gateway import ChainGateway
from onchain.rpc.failover import TRANSPORT_ERRORS, AllEndpointsFailed, FailoverRpc
from onchain.watcher.deposits import DepositSeen, deposits_in
from observability.health import rpc_reachable
from observability.metrics import DepositWatcherMetrics

RPC_ERRORS = (AllEndpointsFailed, RPCException, *TRANSPORT_ERRORS)

log = logging.getLogger("onchain.watcher")


@dataclass
class WatcherSettings:
    nats_url: str
    rpc_urls: list[str]
    keypair: Keypair  # a deposit-watcher key the engine knows (QD_DEPOSIT_PUBKEY)
    cursor_path: Path
    asset_symbols: tuple[str, ...] = ("USDC",)
    poll_seconds: float = 0.5


class DepositWatcher:
    """One run of the watcher."""

    def __init__(self, settings: WatcherSettings, metrics: DepositWatcherMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or DepositWatcherMetrics()
        self.started = False
        self.last_poll_ok = False
        self.sub_accounts: dict[str, int] = {}
        self.credited: list[DepositSeen] = []
        self.rejected: list[tuple[DepositSeen, str]] = []

    async def start(self) -> None:
        self.rpc = FailoverRpc(self.settings.rpc_urls)
        self.gateway = ChainGateway(self.rpc)
        state = await self.gateway.exchange_state()
        self.assets = AssetMap(self.settings.asset_symbols, state.mints)
        self.bot = await BotClient.connect(self.settings.nats_url, self.settings.keypair)
        self.started = True

    def readiness(self) -> dict[str, bool]:
        """Started, NATS connected, an RPC endpoint reachable and the last poll done (attribute
        reads only: called from the health server's thread)."""
        bot = getattr(self, "bot", None)
        return {"started": self.started, "nats": bool(bot is not None and bot.connection.is_connected),
                "rpc": rpc_reachable(getattr(self, "rpc", None)) and self.last_poll_ok}

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set."""
        while not stop.is_set():
            await self.poll_once()
            try:
                await asyncio.wait_for(stop.wait(), self.settings.poll_seconds)
            except asyncio.TimeoutError:
                pass

    async def poll_once(self) -> int:
        """Credit every deposit in transactions newer than the cursor; returns how many were sent."""
        sent = await self._poll()
        self.last_poll_ok = True  # a failed poll ends this watcher (run_forever starts a new one)
        return sent

    async def _poll(self) -> int:
        # The tip is read first: every deposit finalized at or before it is in the listing below.
        tip = (await self.rpc.call(lambda client: client.get_slot(commitment=Finalized))).value
        self.metrics.poll_started(tip)
        sent = 0
        for signature in await self.gateway.program_signatures(until=self.cursor()):
            logs = await self.gateway.transaction_logs(signature)
            for deposit in deposits_in(signature, logs, self.gateway.client):
                await self.credit(deposit)
                sent += 1
            self.save_cursor(signature)
            self.metrics.signature_credited(signature)
        self.metrics.poll_completed(tip)
        return sent

    async def credit(self, deposit: DepositSeen) -> None:
        """Send the Deposit command of one on-chain deposit and wait for its receipt."""
        sub_account = await self._sub_account_of(deposit.user_account)
        try:
            asset = self.assets.symbol_of(deposit.asset_index)
        except KeyError:
            # Stopping here would block every later deposit; this one stays on chain, visible to
            # reconciliation as an in-flight deposit, until the asset is configured and re-read.
            log.error("deposit %s: asset index %s has no configured symbol (QD_ONCHAIN_ASSETS); NOT credited",
                      deposit.key, deposit.asset_index)
            self.rejected.append((deposit, "UnconfiguredAsset"))
            self.metrics.deposit_answered(False, False, "UnconfiguredAsset")
            return
        # Re-read after a lost cursor: the engine's stored answer, without sending it again (a
        # repeat in the stream's dedup window is dropped silently and would be mistaken for new).
        stored = await self.bot.lookup_receipt(deposit.command_id, owner=deposit.owner)
        command = messages.Deposit(asset=asset, amount=deposit.amount, chain_tx=deposit.key)
        receipt = stored or await self.bot.send(command, owner=deposit.owner, sub_account=sub_account,
                                                command_id=deposit.command_id)
        self.metrics.deposit_answered(receipt.accepted, stored is not None or receipt.duplicate, receipt.reason)
        if receipt.accepted:
            self.credited.append(deposit)
        else:
            log.error("deposit %s of %s was REFUSED by the engine: %s %s", deposit.key, deposit.owner,
                      receipt.reason, receipt.message)
            self.rejected.append((deposit, receipt.reason))

    async def _sub_account_of(self, user_account: str) -> int:
        if user_account not in self.sub_accounts:
            account = await self.gateway.user_account_at(Pubkey.from_string(user_account))
            self.sub_accounts[user_account] = int(account.sub_account)
        return self.sub_accounts[user_account]

    # --- the cursor ------------------------------------------------------------------------------
    def cursor(self) -> str | None:
        try:
            return json.loads(self.settings.cursor_path.read_text())["last_signature"]
        except FileNotFoundError:
            return None

    def save_cursor(self, signature: str) -> None:
        """Atomically replace the cursor file (write, fsync, rename)."""
        path = self.settings.cursor_path
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        with open(temporary, "w") as file:
            json.dump({"last_signature": signature}, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)

    async def close(self) -> None:
        self.started = False
        if getattr(self, "bot", None) is not None:
            await self.bot.close()
        if getattr(self, "rpc", None) is not None:
            await self.rpc.close()
