"""The real program: processes, shutdown and the pod lifecycle."""
