"""The local chain of `make run`: our JSON-RPC server over LiteSVM, made durable and given a faucet.

- `journal`: every accepted transaction and airdrop is appended to
  `$QD_STATE_DIR/onchain-devnet/journal.jsonl` and replayed on start, so a restart resumes the
  same chain (LiteSVM itself keeps state in memory only).
- `faucet`: the dev-only `qdFaucet` RPC method (SOL airdrop + USDC minted by the admin key, the
  mint authority). It exists only here, never in the production client paths.
- `__main__`: `python -m onchain.devnet`.
"""
