"""The scripts and monitoring files in examples/."""
