"""The web page: a job table, job details with live output, and a submit form.

This package owns the page's router (``page``) and its files: Jinja2
templates in ``templates/`` and JavaScript modules, a stylesheet and the logo
in ``static/``, with no build step. The page calls the public API from the
browser like any other client, so the router imports only the shared core.
"""
