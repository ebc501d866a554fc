"""The native HTTP API (``/api/v1``, probes, ``/metrics``): everything that speaks HTTP.

This package owns the routes (``routes/``, one router per resource), the
dependencies they take (``deps``), the token check (``auth``), the one mapping
of domain errors to responses (``errors``), the metrics registry and its
middleware (``metrics``), and the HTTP-only helpers: body limits
(``bodylimit``), streams that end cleanly (``streaming``), ``Idempotency-Key``
(``idempotency``) and the bound on every backend call (``timeouts``); the
files root on disk (``files/``) and downloads from it (``filestream``); and
the files root as the default working directory of jobs (``jobcwd``). It
imports only the shared core: it reaches Flux through the ``JobBackend``
protocol (``sidecar.backends.base``) and never names a backend.
"""
