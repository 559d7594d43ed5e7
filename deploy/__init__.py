"""How QuantDesk is run: the local stack (`deploy/local`) and the production files."""
