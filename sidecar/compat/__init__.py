"""``/v1``: upstream flux-restful-api's routes, shapes and token flow over the same backend.

This package owns what existing users of upstream's ``flux-restful-client``
need: the router (``router``), upstream's request and response shapes
(``shapes``) and its JWT token flow (``token``). It is a thin layer over the
native API: it imports the shared core and ``sidecar.api`` (its dependencies,
token check, error mapping and streams), and nothing imports it but the
server that assembles the app.
"""
