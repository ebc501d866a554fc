"""One router per resource of ``/api/v1``, and the probes.

Each route's docstring is its OpenAPI description.
"""
