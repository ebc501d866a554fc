"""The chart, the plain manifests and the Dockerfile."""
