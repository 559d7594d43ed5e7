"""On-chain side of QuantDesk: the Solana program, its layout, converter and client."""
