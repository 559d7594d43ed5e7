"""`python -m onchain.devnet`: the local chain of `make run` — our JSON-RPC server over LiteSVM,
with the exchange initialized, durable across restarts, and a dev faucet.

    python -m onchain.devnet [--port 8899]
    env: QD_STATE_DIR (keys, journal and the devnet description), QD_ADMIN_KEYFILE (exchange
         admin and USDC mint authority; default $QD_STATE_DIR/keys/admin.json)

First start: creates a USDC mint (6 decimals), the exchange (admin = the stack's admin key,
settlement authority = `$QD_STATE_DIR/settler-authority.json`, the settler's default key), the
vault and a 10 million USDC float in the settler's pool account, then writes `$QD_STATE_DIR/onchain-devnet.json` (RPC URL, program id, mints, keys).
Every start: replays `$QD_STATE_DIR/onchain-devnet/journal.jsonl` (see `onchain.devnet.journal`)
before serving, so the chain resumes where it stopped (sequence, balances, signatures).
The `qdFaucet` method (`onchain.devnet.faucet`) gives demo bots SOL and USDC to deposit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from client.keys import load_or_create_keypair
from onchain import local_setup
from onchain.devnet.faucet import DevnetRpcMethods
from onchain.gateway import ChainGateway
from onchain.rpc.failover import FailoverRpc
from onchain.rpc.local_server import build_svm, serve
from onchain.settler.service import POOL_SUB_ACCOUNT
from observability.logs import configure_logging

log = logging.getLogger("onchain.devnet")
POOL_FLOAT_USDC = 10_000_000 * 1_000_000  # 10 million USDC in the settler's pool account


async def initialize(rpc_url: str, state: Path, admin) -> dict:
    """The USDC mint, the exchange and its vault; returns the devnet description."""
    authority = load_or_create_keypair(state / "settler-authority.json")
    gateway = ChainGateway(FailoverRpc([rpc_url]))
    try:
        exchange = await local_setup.bootstrap(gateway, [6], admin=admin, authority=authority)
        # The settler's pool takes the net realized PnL of every batch, which is not zero per
        # batch (a counterparty's gain may still be unrealized): it needs a float, deposited like
        # any other money (the watcher credits it; reconciliation leaves the settler's accounts out).
        wallets = await exchange.user(authority, {0: POOL_FLOAT_USDC}, sub_account=POOL_SUB_ACCOUNT)
        await exchange.deposit(authority, wallets[0], 0, POOL_FLOAT_USDC, sub_account=POOL_SUB_ACCOUNT)
    finally:
        await gateway.rpc.close()
    return {"rpc_url": rpc_url, "program_id": str(gateway.client.program_id),
            "mints": {"USDC": str(exchange.mints[0])}, "admin": str(admin.pubkey()),
            "settlement_authority": str(authority.pubkey())}


def open_chain(state: Path, admin) -> tuple[DevnetRpcMethods, dict | None]:
    """The devnet's methods with its journal replayed, and its description if it was initialized."""
    journal = state / "onchain-devnet" / "journal.jsonl"
    description_file = state / "onchain-devnet.json"
    if journal.exists() and not description_file.exists():
        # The first start died during set-up: its half-made chain is of no use; start afresh.
        journal.rename(journal.with_name(f"journal.incomplete-{int(time.time())}.jsonl"))
    methods = DevnetRpcMethods(build_svm(), journal, admin)
    started = time.monotonic()
    replayed = methods.replay()
    if replayed:
        print(f"devnet: replayed {replayed} journal entries in {time.monotonic() - started:.1f} s "
              f"(slot {methods.svm.get_clock().slot})", flush=True)
        return methods, json.loads(description_file.read_text())
    return methods, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m onchain.devnet", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("QD_RPC_PORT", "8899")))
    arguments = parser.parse_args(argv)
    configure_logging("devnet", os.environ.get("QD_LOG_LEVEL", "WARNING").upper())  # JSON lines (observability.logs)
    state = Path(os.environ.get("QD_STATE_DIR", "."))
    admin = load_or_create_keypair(os.environ.get("QD_ADMIN_KEYFILE", state / "keys" / "admin.json"))
    methods, description = open_chain(state, admin)
    server = serve(arguments.port, methods=methods)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rpc_url = f"http://127.0.0.1:{server.server_address[1]}"
    if description is None:
        description = asyncio.run(initialize(rpc_url, state, admin))
        (state / "onchain-devnet.json").write_text(json.dumps(description, indent=2))
    description["rpc_url"] = rpc_url
    methods.ready = True
    print(f"devnet ready at {rpc_url}: {json.dumps(description)}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    with methods.lock:
        methods.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
