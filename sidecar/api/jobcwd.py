"""Jobs submitted without a working directory run in the files root, on every backend.

Flux runs a jobspec without ``cwd`` wherever its broker happens to run, and the
local backend where the sidecar does; filling it in here, above both, makes the
two behave the same and puts every such job where uploads land.
"""

from __future__ import annotations

import copy
from typing import Any

from sidecar.backends.base import JobBackend
from sidecar.models import Job, JobRequest


def with_default_cwd(request: JobRequest, cwd: str) -> JobRequest:
    """The request with ``cwd`` as its working directory, unless it names one."""
    if request.jobspec is None:
        return request if request.cwd else request.model_copy(update={"cwd": cwd})
    attributes = request.jobspec.get("attributes")
    system = attributes.get("system") if isinstance(attributes, dict) else None
    if not isinstance(system, dict) or system.get("cwd"):
        return request  # a malformed jobspec is the backend's to refuse, as it is
    jobspec = copy.deepcopy(request.jobspec)
    jobspec["attributes"]["system"]["cwd"] = cwd
    return request.model_copy(update={"jobspec": jobspec})


class DefaultCwdBackend:
    """A backend whose submissions default their working directory to ``cwd``."""

    def __init__(self, inner: JobBackend, cwd: str) -> None:
        self.inner = inner
        self.cwd = cwd

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def submit(self, request: JobRequest) -> Job:
        return await self.inner.submit(with_default_cwd(request, self.cwd))
