"""flux-sidecar: the Flux job API over REST, beside the broker of a Flux Operator MiniCluster."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("flux-sidecar")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
