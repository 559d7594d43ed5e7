"""`python -m onchain.devnet`: the local chain of `make run` — our JSON-RPC server over LiteSVM,
with the exchange initialized, so the settler and the deposit watcher have something to talk to.

    python -m onchain.devnet [--port 8899]
    env: QD_STATE_DIR (keys and the devnet description), QD_ADMIN_KEYFILE (exchange admin and
         USDC mint authority; default $QD_STATE_DIR/keys/admin.json)

On start it creates a USDC mint (6 decimals), the exchange (admin = the stack's admin key,
settlement authority = `$QD_STATE_DIR/settler-authority.json`, the settler's default key) and the
vault, then writes `$QD_STATE_DIR/onchain-devnet.json` (RPC URL, program id, mints, keys).
Known limit: LiteSVM keeps its state in memory, so a restart starts a fresh chain while the
event log persists: the settler then finds sequence 0 and re-settles from the beginning of the
log, which the fresh chain (without the old deposits) refuses. Reset the state directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import threading
from pathlib import Path

from client.keys import load_or_create_keypair
from onchain import local_setup
from onchain.gateway import ChainGateway
from onchain.rpc.failover import FailoverRpc
from onchain.rpc.local_server import serve


async def initialize(rpc_url: str, state: Path) -> dict:
    """The USDC mint, the exchange and its vault; returns the devnet description."""
    admin = load_or_create_keypair(os.environ.get("QD_ADMIN_KEYFILE", state / "keys" / "admin.json"))
    authority = load_or_create_keypair(state / "settler-authority.json")
    gateway = ChainGateway(FailoverRpc([rpc_url]))
    try:
        exchange = await local_setup.bootstrap(gateway, [6], admin=admin, authority=authority)
    finally:
        await gateway.rpc.close()
    return {"rpc_url": rpc_url, "program_id": str(gateway.client.program_id),
            "mints": {"USDC": str(exchange.mints[0])}, "admin": str(admin.pubkey()),
            "settlement_authority": str(authority.pubkey())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m onchain.devnet", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("QD_RPC_PORT", "8899")))
    arguments = parser.parse_args(argv)
    state = Path(os.environ.get("QD_STATE_DIR", "."))
    server = serve(arguments.port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rpc_url = f"http://127.0.0.1:{server.server_address[1]}"
    description = asyncio.run(initialize(rpc_url, state))
    (state / "onchain-devnet.json").write_text(json.dumps(description, indent=2))
    print(f"devnet ready at {rpc_url}: {json.dumps(description)}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
