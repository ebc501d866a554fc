"""The files root on disk: paths that cannot lead out of it, listings, transfers.

``paths`` checks a request's path and opens directories from the root's own
descriptor without following links; ``store`` lists, opens and deletes;
``upload`` writes a body beside its target and renames it over it; ``ranges``
reads ``Range`` headers. Everything here blocks: the routes run it in threads.
"""
