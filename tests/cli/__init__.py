"""The flux-sidecar command line against a real server."""
