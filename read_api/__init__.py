"""The read API: query functions over the read models (`read` schema) and thin routes.

Routes only parse parameters and return what a query function returns; they never touch
aggregates, the event store or the bus. OpenAPI at /openapi.json, docs at /docs.
"""
