"""Jobs submitted without a working directory run in the files root, on every backend.

Flux runs a jobspec without ``cwd`` wherever its broker happens to run, and the
local backend where the sidecar does; filling it in here, above both, makes the
two behave the same and puts every such job where uploads land. A relative
``cwd`` is taken under the files root too, as a relative file path is: the
broker's own working directory means nothing to a caller.
"""

from __future__ import annotations

import copy
import posixpath
from typing import Any

from sidecar.backends.base import JobBackend
from sidecar.jobspec import system_attributes
from sidecar.models import Job, JobRequest


def _under(root: str, cwd: Any) -> Any:
    """``cwd`` joined onto ``root`` when it is a relative path; anything else as it is."""
    if isinstance(cwd, str) and cwd and not posixpath.isabs(cwd):
        return posixpath.normpath(posixpath.join(root, cwd))
    return cwd


def with_default_cwd(request: JobRequest, cwd: str) -> JobRequest:
    """The request with ``cwd`` as its working directory unless it names one, and a
    relative one taken under ``cwd``."""
    if request.jobspec is None:
        wanted = _under(cwd, request.cwd) if request.cwd else cwd
        return request if wanted == request.cwd else request.model_copy(update={"cwd": wanted})
    system = system_attributes(request.jobspec)
    if system is None:
        return request  # a malformed jobspec is the backend's to refuse, as it is
    given = system.get("cwd")
    wanted = _under(cwd, given) if given else cwd
    if wanted == given:
        return request
    jobspec = copy.deepcopy(request.jobspec)
    jobspec["attributes"]["system"]["cwd"] = wanted
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
