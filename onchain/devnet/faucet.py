"""The devnet's faucet: `qdFaucet(owner, mint, amount)` — dev money for the demo bots, on chain.

The devnet holds the admin key, which is the mint authority of its USDC mint, so it can mint.
One call airdrops SOL for fees to ``owner`` and mints ``amount`` base units of ``mint`` into the
owner's associated token account (created if missing), in one real SPL transaction signed by the
admin — journaled and replayed like any other. The owner then deposits with its own signature
(`deposit_tokens`), so the exchange only ever sees ordinary on-chain deposits.
Exists only in the devnet: production RPC endpoints have no such method.
"""

from __future__ import annotations

import base64

import spl.token.instructions as spl
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction

from onchain.client import TOKEN_PROGRAM_ID
from onchain.devnet.journal import JournaledRpcMethods
from onchain.rpc.local_methods import INVALID_PARAMS, RpcError
from onchain.settler.batch import associated_token_address

FEE_LAMPORTS = 10_000_000_000  # 10 SOL: plenty for a demo bot's fees and rent
MAX_MINT = 10**15  # one faucet call mints at most 1e9 USDC


class DevnetRpcMethods(JournaledRpcMethods):
    """The devnet's RPC: journaled LiteSVM methods plus the faucet."""

    def __init__(self, svm, journal_path, mint_authority: Keypair) -> None:
        super().__init__(svm, journal_path)
        self.mint_authority = mint_authority
        self.ready = False  # set once the exchange is initialized (the mint exists)

    def rpc_qdFaucet(self, owner, mint, amount, *_):
        """Airdrop fee SOL to ``owner`` and mint ``amount`` of ``mint`` to its associated account."""
        if not self.ready:
            raise RpcError(INVALID_PARAMS, "the devnet is still initializing; retry")
        if not isinstance(amount, int) or not 0 < amount <= MAX_MINT:
            raise RpcError(INVALID_PARAMS, f"amount must be an integer in 1..{MAX_MINT}")
        owner_key, mint_key = Pubkey.from_string(owner), Pubkey.from_string(mint)
        self.rpc_requestAirdrop(owner, FEE_LAMPORTS)
        authority = self.mint_authority.pubkey()
        wallet = associated_token_address(owner_key, mint_key)
        instructions = [
            spl.create_idempotent_associated_token_account(authority, owner_key, mint_key),
            spl.mint_to(spl.MintToParams(program_id=TOKEN_PROGRAM_ID, mint=mint_key, dest=wallet,
                                         mint_authority=authority, amount=amount)),
        ]
        transaction = Transaction([self.mint_authority], Message(instructions, authority),
                                  self.svm.latest_blockhash())
        encoded = base64.b64encode(bytes(transaction)).decode()
        signature = self.rpc_sendTransaction(encoded, {"encoding": "base64"})
        return {"signature": signature, "wallet": str(wallet)}
