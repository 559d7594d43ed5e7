"""QuantDesk's bot client: keys, signed commands with receipts, and event feeds over NATS."""

from client.bot_client import BotClient, Receipt, ReceiptTimeout
from client.events import EventFeed
from client.results import Deposited, Fill, Settlement, TradeSettled, fills_of
from client.keys import load_keypair, load_or_create_keypair, new_keypair, pubkey_of, save_keypair

__all__ = [
    "BotClient", "Deposited", "EventFeed", "Fill", "Receipt", "ReceiptTimeout", "Settlement",
    "TradeSettled", "fills_of", "load_keypair",
    "load_or_create_keypair", "new_keypair", "pubkey_of", "save_keypair",
]
