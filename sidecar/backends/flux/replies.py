"""Reading fulfilled Flux futures with libflux's own calls, not the bindings' wrappers.

Every ``get`` of the Python bindings goes through ``interruptible``, which
builds a new ``flux.Flux`` object around the future's handle to decide whether
Ctrl-C may interrupt a wait, and then through a generic wrapper lookup: on the
reactor thread that was most of the Python work of a submission (its reply,
its job-list entry, and each journal entry after it). The reactor thread only
reads futures that are already fulfilled, so it calls the same C functions
directly and raises the same ``OSError`` (errno and Flux's error string).
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any


@functools.cache
def _ffi() -> tuple[Any, Any]:
    from flux.core.inner import ffi, lib

    return ffi, lib


def _error(ffi: Any, lib: Any, pointer: Any) -> OSError:
    errnum = ffi.errno
    text = lib.flux_future_error_string(pointer)
    message = ffi.string(text).decode("utf-8", "replace") if text != ffi.NULL else ""
    return OSError(errnum, message or os.strerror(errnum))


def payload(future: Any) -> Any:
    """The reply's JSON payload (``flux_rpc_get``), or None for an empty one."""
    ffi, lib = _ffi()
    pointer = future.pimpl.handle
    text = ffi.new("char *[1]")
    if lib.flux_rpc_get(pointer, text) < 0:
        raise _error(ffi, lib, pointer)
    if text[0] == ffi.NULL:
        return None
    return json.loads(ffi.string(text[0]).decode())


def submitted_id(future: Any) -> int:
    """The job id of a submission's reply (``flux_job_submit_get_id``)."""
    ffi, lib = _ffi()
    pointer = future.pimpl.handle
    jobid = ffi.new("flux_jobid_t[1]")
    if lib.flux_job_submit_get_id(pointer, jobid) < 0:
        raise _error(ffi, lib, pointer)
    return int(jobid[0])


def matchtag(future: Any) -> int:
    """The request's matchtag, which a streaming service's cancel request names."""
    _, lib = _ffi()
    return int(lib.flux_rpc_get_matchtag(future.pimpl.handle))
