"""flux-sidecar: the Flux job API over REST, beside the broker of a Flux Operator MiniCluster.

The modules at this level are the shared core that every part may import:
``models`` (request and response models of server and client), ``filemodels``
(the same for files under the files root), ``submission`` and
``jobspec_model`` (the submit request and the jobspec v1 it may carry),
``patterns`` (the grammars the OpenAPI document publishes), ``errors`` (the
domain error tree), ``jobid`` (Flux job id encodings), ``jobspec`` (requests
as Flux jobspecs), ``config`` (settings), ``hub`` (event fan-out),
``lifecycle`` (serve, then shut down once), ``idle`` (idle teardown) and the
``JobBackend`` protocol in ``backends/base.py``. The core imports nothing else
of the package. The parts are folders: ``api`` (the native HTTP API),
``compat`` (``/v1``), ``ui`` (the web page), ``backends/flux`` and
``backends/local``, ``server`` (assembles and runs the app), ``client`` and
``cli``. A part imports the core, its own modules, and only the parts its
docstring names.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("flux-sidecar")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
