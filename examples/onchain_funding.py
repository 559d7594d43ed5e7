"""How a demo bot funds itself on chain in `make run`: faucet → own deposit → wait for the credit.

1. `qdFaucet` (a method only the local devnet has, see `onchain.devnet.faucet`) airdrops SOL for
   fees and mints USDC into the bot's associated token account.
2. The bot opens its on-chain user account and signs `deposit_tokens` into the exchange's vault.
3. The deposit watcher sees the finalized deposit and sends the engine a `Deposit` command; the
   bot waits for its `Account.Deposited` event before it trades.
So every unit a bot trades with is in the vault, and the settler's batches can land.
"""

from __future__ import annotations

import asyncio
import time

import httpx
from solders.pubkey import Pubkey

from bus import wire
from client import BotClient, Deposited
from onchain.assets import parse_symbols
from onchain.gateway import ChainGateway
from onchain.local_setup import landed
from onchain.rpc.failover import FailoverRpc


class FaucetUnavailable(RuntimeError):
    """The RPC endpoint has no working faucet (not a devnet, or it never became ready)."""


async def request_from_faucet(rpc_url: str, owner: Pubkey, mint: Pubkey, amount: int,
                              seconds: float = 120.0) -> dict:
    """Call the devnet's `qdFaucet`, retrying while the devnet starts; its answer (signature, wallet)."""
    deadline = time.monotonic() + seconds
    payload = {"jsonrpc": "2.0", "id": 1, "method": "qdFaucet", "params": [str(owner), str(mint), amount]}
    async with httpx.AsyncClient(timeout=10.0) as http:
        while True:
            try:
                answer = (await http.post(rpc_url, json=payload)).json()
                if "result" in answer:
                    return answer["result"]
                if answer["error"]["code"] == -32601:  # method not found: not our devnet
                    raise FaucetUnavailable(f"{rpc_url} has no qdFaucet (not the local devnet)")
                problem = answer["error"]["message"]
            except httpx.HTTPError as error:
                problem = str(error)
            if time.monotonic() > deadline:
                raise FaucetUnavailable(f"the devnet faucet at {rpc_url} did not answer: {problem}")
            await asyncio.sleep(1.0)


async def exchange_mint(gateway: ChainGateway, symbol: str, asset_symbols: tuple[str, ...],
                        seconds: float = 120.0):
    """(asset index, mint) of ``symbol``, once the exchange is initialized on chain."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            state = await gateway.exchange_state()
            index = asset_symbols.index(symbol)
            return index, state.mints[index]
        except Exception:  # noqa: BLE001 - the devnet may still be starting
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1.0)


async def fund_on_chain(bot: BotClient, rpc_urls: list[str], assets: str, amount: int, symbol: str = "USDC",
                        credit_timeout: float = 120.0) -> str:
    """Faucet, deposit ``amount`` base units of ``symbol`` on chain, wait for the engine's credit.

    Returns the deposit's transaction signature.
    """
    gateway = ChainGateway(FailoverRpc(rpc_urls))
    owner = bot.keypair.pubkey()
    try:
        index, mint = await exchange_mint(gateway, symbol, parse_symbols(assets))
        wallet = Pubkey.from_string((await request_from_faucet(rpc_urls[0], owner, mint, amount))["wallet"])
        client = gateway.client
        instructions = [] if await gateway.user_account(owner, 0) else [client.create_user_account(owner, 0)]
        credits = bot.account_events()
        await credits.start()
        try:
            deposit = await landed(gateway, instructions + [client.deposit_tokens(owner, wallet, mint, index, amount, 0)],
                                   bot.keypair)
            await _wait_for_credit(credits, deposit.signature, credit_timeout)
        finally:
            await credits.close()
        return deposit.signature
    finally:
        await gateway.rpc.close()


async def _wait_for_credit(credits, signature: str, seconds: float) -> None:
    """Until the engine records the Deposited event that names this chain transaction."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            event = await credits.next(timeout=max(0.1, deadline - time.monotonic()))
        except Exception:  # noqa: BLE001 - a timeout of the feed: check the deadline
            continue
        if event.event_type == "Deposited" and (wire.payload_as(event, Deposited).reference or "").startswith(signature):
            return
    raise TimeoutError(f"deposit {signature} was not credited within {seconds:.0f} s (is the deposit watcher running?)")
