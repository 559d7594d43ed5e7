"""Command messages (the wire schema of the commands stream), the signed envelope, and handlers."""
