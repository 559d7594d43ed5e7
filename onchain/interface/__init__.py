"""The one source of truth for the program's interface: instructions, accounts, events, errors.

``spec`` declares the layout; ``idl`` renders the Anchor IDL JSON and ``c_header`` renders the C
declarations the program compiles against. ``python -m onchain.interface`` rewrites both
committed files; a test requires the committed files to equal what the spec generates.
"""
