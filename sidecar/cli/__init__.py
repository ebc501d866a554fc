"""The ``flux-sidecar`` command: ``serve`` runs the server, every other command calls one.

This package owns the command line: ``parser`` (the arguments of every command,
and ``main``), ``commands`` (each client command as a call of ``SidecarClient``,
with the exit codes scripts rely on), ``files`` (``put``, ``get``, ``ls``,
``rm``) and ``format`` (tables for people, JSON lines for scripts). It imports
the shared core and ``sidecar.client``; ``serve`` alone reaches
``sidecar.server``, and only when it runs, so the client commands never load
the server.
"""

from sidecar.cli.parser import main

__all__ = ["main"]
