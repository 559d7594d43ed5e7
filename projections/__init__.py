"""The read side's writers: one projector per read model, fed by the events stream.

A projector is an independent process (`python -m projections.run <name> --nats URL --pg DSN`):
a durable JetStream pull consumer of the events stream that owns its tables in its own schema.
Each batch updates its rows and records the stream position reached in the same PostgreSQL
transaction, so a redelivery or a replay changes nothing. Readers use the `read` schema, whose
views point at each projector's active schema (blue/green rebuilds switch those views).
"""
