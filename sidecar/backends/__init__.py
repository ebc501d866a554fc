"""The backends behind the one seam between HTTP and Flux.

``base`` is the seam: the ``JobBackend`` protocol, part of the shared core that
everything may import. ``flux/`` (the Flux Python bindings) and ``local/``
(real processes on this machine) implement it; they import only the shared
core and their own modules, and nothing but the server imports them.
"""
