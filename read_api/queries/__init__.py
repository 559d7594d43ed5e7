"""Query functions: plain SQL over the `read` schema's views, returning typed results."""
