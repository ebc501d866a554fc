"""The flux backend on a real Flux instance (and its pure parts without one)."""
