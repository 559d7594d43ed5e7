"""RPC access to Solana: a LiteSVM-backed local JSON-RPC server and a failover client."""
