"""The token: where it comes from, and the check every protected route runs.

A mounted Kubernetes Secret is a symlink farm the kubelet swaps atomically
(``..data``) on rotation, so the file is re-read whenever ``stat`` changes and
rotation needs no restart. The token is compared in constant time and never
logged.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
from collections.abc import Callable
from pathlib import Path

from sidecar.config import Settings
from sidecar.errors import AuthError

logger = logging.getLogger(__name__)


class TokenSource:
    """The current token: from the environment if set, else from the token file."""

    def __init__(self, token: str | None, path: Path) -> None:
        self._fixed = token or None
        self._path = path
        self._stamp: tuple[int, int, int, int] | None = None
        self._token: str | None = None

    @property
    def origin(self) -> str:
        return "the environment" if self._fixed else f"file {self._path}"

    def current(self) -> str | None:
        if self._fixed:
            return self._fixed
        try:
            st = os.stat(self._path)
        except OSError:
            return self._token  # mid-swap or removed: keep the last token read
        stamp = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            try:
                token = self._path.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                return self._token
            if self._stamp is not None and token != self._token:
                logger.info("token file %s changed; using the new token", self._path)
            self._stamp, self._token = stamp, token or None
        return self._token


class Authenticator:
    """Checks an ``Authorization`` header: Bearer, or Basic with the token as password."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.auth
        token = settings.token.get_secret_value() if settings.token else None
        self.source = TokenSource(token, settings.token_file)
        self._user = settings.user
        self.failure_hooks: list[Callable[[], None]] = []

    def check(self, authorization: str | None) -> None:
        if not self.enabled:
            return
        try:
            self._check(authorization)
        except AuthError:
            for hook in self.failure_hooks:
                hook()
            raise

    def accepts(self, authorization: str | None) -> bool:
        """Whether the header carries the token, without counting a failure when not."""
        try:
            self._check(authorization)
        except AuthError:
            return False
        return True

    def _check(self, authorization: str | None) -> None:
        expected = self.source.current()
        if expected is None:
            raise AuthError("no token is configured on the server")
        if not authorization:
            raise AuthError("missing Authorization header: send 'Bearer <token>'")
        scheme, _, credentials = authorization.partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer":
            presented = credentials
        elif scheme.lower() == "basic":
            try:
                user, _, presented = (
                    base64.b64decode(credentials, validate=True).decode().partition(":")
                )
            except (binascii.Error, UnicodeDecodeError):
                raise AuthError("malformed Basic credentials") from None
            if self._user is not None and not _same(user, self._user):
                raise AuthError("invalid credentials")
        else:
            raise AuthError("unsupported Authorization scheme: use Bearer or Basic")
        if not _same(presented, expected):
            raise AuthError("invalid credentials")


def _same(presented: str, expected: str) -> bool:
    return hmac.compare_digest(presented.encode(), expected.encode())
