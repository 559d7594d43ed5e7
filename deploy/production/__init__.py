"""Production deployment: compose file, stream set-up job, and the environment-only launcher."""
