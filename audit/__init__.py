"""Audit: the hash-chained event log, replay verification, time travel and upcasting.

Modules: `canonical` (the bytes an auditor hashes), `chain` (the PostgreSQL trigger that pairs
every stored event with its chain hash, and the pure-Python verifier), `log_source` (reading the
log from the store or from the events stream), `replay` (rebuilding the domain from genesis),
`time_travel` (an account's state at a past position).
"""
