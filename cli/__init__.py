"""`qd`: the one command-line entry point for operators and auditors."""
