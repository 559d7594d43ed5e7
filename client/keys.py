"""Keypairs for bots: generate, load and save in the Solana CLI's keyfile format.

A keyfile is a JSON array of the 64 bytes of an ed25519 keypair (secret then public), exactly
what `solana-keygen new` writes, so a bot can use its wallet's key directly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from solders.keypair import Keypair


def new_keypair() -> Keypair:
    """A fresh random keypair."""
    return Keypair()


def load_keypair(path: str | Path) -> Keypair:
    """Read a Solana CLI keyfile."""
    return Keypair.from_bytes(bytes(json.loads(Path(path).read_text())))


def save_keypair(keypair: Keypair, path: str | Path) -> None:
    """Write a Solana CLI keyfile readable by its owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(list(bytes(keypair)), file)


def load_or_create_keypair(path: str | Path) -> Keypair:
    """The keypair in ``path``, created there on first use."""
    if Path(path).exists():
        return load_keypair(path)
    keypair = new_keypair()
    save_keypair(keypair, path)
    return keypair


def pubkey_of(keypair: Keypair) -> str:
    """The base58 public key (an owner id on QuantDesk)."""
    return str(keypair.pubkey())
