"""The settler: nets the event log's money movements per account and asset and settles them on
chain in batches (`python -m onchain.settler`).

Modules: `netting` (pure: events -> deltas and payouts), `batch` (a batch as one settle_batch
transaction, sized under Solana's limits), `event_feed` (follow QD_EVT from a log position),
`log_chain` (the audit hash chain: head hash per log position), `journal` (its small state), `record` (the batch record as log events),
`service` (the loop and the crash reconciliation), `__main__` (bootstrap).
"""
