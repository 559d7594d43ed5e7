"""One module per read model. `REGISTRY` maps a projector name to its class."""
