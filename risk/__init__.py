"""The risk processes beside the engine: the price feed (`python -m risk.feed`) and the keeper
(`python -m risk.keeper`). They turn prices and time into signed commands; the rules are in
`domain/` (see docs/architecture/risk.md)."""
