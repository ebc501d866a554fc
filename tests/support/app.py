"""The settings, token and backends every API test starts from."""

from __future__ import annotations

import atexit
import shutil
import tempfile

from sidecar.backends.base import JobBackend
from sidecar.config import Settings

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def scratch_files_root() -> str:
    """A files root of its own, removed at exit: the API may write, and fuzzing deletes."""
    root = tempfile.mkdtemp(prefix="flux-sidecar-files-")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"token": TOKEN, "backend": "local", "local_cores": 4}
    if "files_root" not in overrides:
        values["files_root"] = scratch_files_root()
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def make_backend(kind: str, settings: Settings) -> JobBackend:
    from sidecar.server.serve import make_backend as build

    return build(settings.model_copy(update={"backend": kind}))
