"""The deposit watcher: finalized on-chain deposits become signed Deposit commands
(`python -m onchain.watcher`). `deposits` parses transaction logs (pure); `service` polls the
chain and sends the commands; `__main__` bootstraps."""
