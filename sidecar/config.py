"""Settings: command line, then ``FLUX_SIDECAR_*``, then upstream flux-restful-api's names."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sidecar.submission import parse_duration

DEFAULT_TOKEN_FILE = Path("/var/run/secrets/flux-sidecar/token")
DEFAULT_SECRET_KEY_FILE = Path("/var/run/secrets/flux-sidecar/secret-key")
# The Flux Operator's volume in every container (its spec.flux.container.mountPath).
DEFAULT_FLUX_MOUNT_PATH = Path("/mnt/flux")
# Written by the broker container's script once the broker has exited.
COMPLETION_FILE_NAME = "flux-operator-complete.txt"
DEFAULT_MAX_UPLOAD_BYTES = 1024**3


def _env(name: str, *upstream: str) -> AliasChoices:
    # An explicit validation alias switches the prefix off, so name every spelling:
    # ours, then upstream's as a fallback. Bare names (USER, PORT) must never match.
    return AliasChoices(f"FLUX_SIDECAR_{name.upper()}", *upstream)


class Settings(BaseSettings):
    """Everything configurable; see the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="FLUX_SIDECAR_", extra="ignore", populate_by_name=True
    )

    token: SecretStr | None = Field(None, validation_alias=_env("token", "FLUX_TOKEN"))
    token_file: Path = Field(DEFAULT_TOKEN_FILE, validation_alias=_env("token_file"))
    user: str | None = Field(None, validation_alias=_env("user", "FLUX_USER"))
    auth: bool = Field(True, validation_alias=_env("auth", "FLUX_REQUIRE_AUTH"))
    metrics_auth: bool = Field(False, validation_alias=_env("metrics_auth"))
    secret_key: SecretStr | None = Field(
        None, validation_alias=_env("secret_key", "FLUX_SECRET_KEY")
    )
    secret_key_file: Path = Field(DEFAULT_SECRET_KEY_FILE, validation_alias=_env("secret_key_file"))
    backend: Literal["flux", "local"] = Field("flux", validation_alias=_env("backend"))
    host: str = Field("0.0.0.0", validation_alias=_env("host"))  # noqa: S104 - a pod serves its Service
    port: int = Field(5000, ge=0, le=65535, validation_alias=_env("port"))
    max_body_bytes: int = Field(1024 * 1024, ge=1024, validation_alias=_env("max_body_bytes"))
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        "info", validation_alias=_env("log_level")
    )
    local_cores: int | None = Field(None, ge=1, validation_alias=_env("local_cores"))
    flux_mount_path: Path = Field(DEFAULT_FLUX_MOUNT_PATH, validation_alias=_env("flux_mount_path"))
    completion_file: Path | None = Field(None, validation_alias=_env("completion_file"))
    broker_wait_seconds: float = Field(600.0, ge=0, validation_alias=_env("broker_wait_seconds"))
    broker_gone_seconds: float = Field(120.0, ge=0, validation_alias=_env("broker_gone_seconds"))
    idle_shutdown: float | None = Field(None, validation_alias=_env("idle_shutdown"))
    request_timeout_seconds: float = Field(
        30.0, gt=0, validation_alias=_env("request_timeout_seconds")
    )
    files_root: Path | None = Field(None, validation_alias=_env("files_root"))
    max_upload_bytes: int = Field(
        DEFAULT_MAX_UPLOAD_BYTES, ge=0, validation_alias=_env("max_upload_bytes")
    )

    @field_validator("idle_shutdown", mode="before")
    @classmethod
    def _idle_duration(cls, value: Any) -> Any:
        # Seconds or a Flux duration ("30m"); empty, 0 or "inf" leave it off.
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return parse_duration(value) or None

    @property
    def completion_path(self) -> Path:
        """The operator's completion marker: as set, else in the operator's volume."""
        return self.completion_file or self.flux_mount_path / COMPLETION_FILE_NAME

    @property
    def files_path(self) -> Path:
        """The files root, absolute: as set, else the directory the server started in.

        It is also the working directory of jobs submitted without one, so that
        they find what was uploaded; jobs must see it at the same path.
        """
        return Path(os.path.abspath(self.files_root or Path.cwd()))
