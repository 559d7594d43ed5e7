"""HTTP and WebSocket routes: parse, call one query function, return."""
