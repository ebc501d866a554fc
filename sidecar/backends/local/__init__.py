"""The local backend: every job a real process group on this machine, in Flux's job model.

It is what ``make run`` and most tests use: the same states, results,
eventlog names, f58 ids and output as Flux, a core budget, time limits and
signals, and no scheduler beyond that. This package owns the backend
(``backend``: ``LocalBackend``) and one job's processes (``job``). It imports
the shared core and its own modules; only the server imports it.
"""
