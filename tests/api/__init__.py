"""The native HTTP API: behaviour, the backend contract, auth, limits, load, metrics."""
