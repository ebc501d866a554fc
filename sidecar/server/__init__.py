"""The program that serves: the app assembled from its parts, and uvicorn running it.

This package owns ``app`` (``create_app(settings, backend, registry=None)``:
the lifespan that owns every resource, the native API, ``/v1`` and the web
page) and ``serve`` (settings -> backend -> app -> ``uvicorn.Server``, with
one exit path for signals and for ``/api/v1/shutdown``). It is the one place
that imports everything: the shared core, ``sidecar.api``, ``sidecar.compat``,
``sidecar.ui`` and the backends it picks from. Only the command line's
``serve`` imports it.
"""
