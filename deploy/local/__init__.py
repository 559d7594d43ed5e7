"""Launchers for the local stack's servers, shared by `make run`, the tests and the benchmarks."""
