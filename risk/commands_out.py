"""The outbound side shared by the feed and the keeper: a signed-command sender over the bot
client that connects, sends and reconnects with back-off, and never raises to its loop."""

from __future__ import annotations

import asyncio
import logging
import os

from client import BotClient, load_or_create_keypair, pubkey_of
from commands import messages
from risk.backoff import Backoff, report


def admin_keyfile() -> str:
    """The dev operator key: $QD_ADMIN_KEYFILE, else $QD_STATE_DIR/keys/admin.json, else
    .state/keys/admin.json (the convention of examples/common.py)."""
    if os.environ.get("QD_ADMIN_KEYFILE"):
        return os.environ["QD_ADMIN_KEYFILE"]
    if os.environ.get("QD_STATE_DIR"):
        return os.path.join(os.environ["QD_STATE_DIR"], "keys", "admin.json")
    return ".state/keys/admin.json"


def default_nats_url() -> str:
    """$QD_NATS_URL (make run) or the local default."""
    return os.environ.get("QD_NATS_URL", "nats://127.0.0.1:4222")


class Sender:
    """Sends commands signed by one key; counts what happened."""

    def __init__(self, nats_url: str, keyfile: str, log: logging.Logger, timeout: float = 10.0) -> None:
        self.nats_url = nats_url
        self.keypair = load_or_create_keypair(keyfile)
        self.log = log
        self.timeout = timeout
        self.client: BotClient | None = None
        self.backoff = Backoff()
        self.counts = {"accepted": 0, "rejected": 0, "failed": 0}

    @property
    def connected(self) -> bool:
        """Whether its NATS connection is up now (its readiness)."""
        return self.client is not None and self.client.connection.is_connected

    @property
    def signer(self) -> str:
        """The base58 public key that signs (the engine's admin key in dev)."""
        return pubkey_of(self.keypair)

    async def connect(self, stop: asyncio.Event | None = None) -> None:
        """Connect to NATS, retrying with back-off until connected (or stopped)."""
        while self.client is None and not (stop and stop.is_set()):
            try:
                self.client = await BotClient.connect(self.nats_url, self.keypair)
                self.backoff.succeeded()
            except Exception as error:  # noqa: BLE001 - any connection failure is retried
                delay = self.backoff.next_delay()
                report(self.log, f"connect {self.nats_url}", error, delay, self.backoff.failures)
                await asyncio.sleep(delay)

    async def send(self, command: messages.Command) -> messages.Command | None:
        """Send one command and wait for its receipt; None on failure (reported, backed off)."""
        await self.connect()
        try:
            receipt = await self.client.send(command, timeout=self.timeout)
        except Exception as error:  # noqa: BLE001 - the loop must survive any send failure
            self.counts["failed"] += 1
            delay = self.backoff.next_delay()
            report(self.log, f"send {type(command).__name__}", error, delay, self.backoff.failures)
            await asyncio.sleep(delay)
            return None
        self.backoff.succeeded()
        if receipt.accepted:
            self.counts["accepted"] += 1
        else:
            self.counts["rejected"] += 1
            self.log.info("%s rejected: %s %s", type(command).__name__, receipt.reason, receipt.message)
        return receipt

    async def close(self) -> None:
        """Disconnect."""
        if self.client is not None:
            await self.client.close()
