"""The flux backend: ``JobBackend`` over the Flux Python bindings.

A Flux handle is not thread-safe and has no asyncio integration, so one
reactor thread owns it and every Flux object. This package owns that thread
(``worker``), one connection and what is in flight on it (``session``),
answers handed to the event loop (``bridge``), each request made of Flux
(``requests``), job-list records as jobs (``jobs``), newest-first pages
(``paging``), output and eventlog watches (``streams``), the journal of state
changes (``events``) and the backend itself (``backend``: ``FluxBackend``).
It imports the shared core and its own modules; only the server imports it.
"""
