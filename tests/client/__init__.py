"""The Python clients, sync and async."""
