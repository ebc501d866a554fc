"""The token flow of upstream flux-restful-api, for the ``/v1`` routes (DESIGN section 3).

Upstream's client answers a 401 by posting to ``/v1/token`` with ``Authorization:
Bearer <JWT>``: an HS256 JWT of ``{"user", "pass", "scope": "token"}`` signed with
the shared secret key. The answer is an access token that later requests present
as Bearer, until it expires and a 401 starts the flow again.

A refused token request is a 401 with ``WWW-Authenticate``, as everywhere. Upstream's
client answers that by asking ``/v1/token`` again with the same JWT, and again, until
its stack runs out: so the same refused JWT within ``REPEAT_SECONDS`` gets a 429
instead, which the client reports as a failure after one repeat.

The secret key is ``FLUX_SIDECAR_SECRET_KEY`` (upstream ``FLUX_SECRET_KEY``) or
the secret-key file. With neither, the API token itself is the secret key:
upstream's JWT carries the token in its (unencrypted) payload anyway, so a
separate key adds nothing then, and clients need only ``FLUX_SECRET_KEY=$FLUX_TOKEN``.
Access tokens are signed with a key derived from the secret key and the current
token, so rotating either revokes every access token issued before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import OrderedDict
from typing import Any

from sidecar.api.auth import Authenticator, TokenSource
from sidecar.config import Settings
from sidecar.errors import AuthError, TooManyRequests

ACCESS_TOKEN_SECONDS = 3600
REPEAT_SECONDS = 10
_REMEMBERED = 256
_ACCESS_LABEL = b"flux-sidecar /v1 access token\0"


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(part: str) -> Any:
    try:
        return json.loads(_b64decode(part))
    except RecursionError:
        raise ValueError("the JWT is nested too deeply") from None


def _sign(signing_input: str, key: bytes) -> bytes:
    return hmac.new(key, signing_input.encode(), hashlib.sha256).digest()


def encode_jwt(claims: dict[str, Any], key: bytes) -> str:
    """An HS256 JSON Web Token (RFC 7519) of ``claims``."""
    header = _b64encode(b'{"alg":"HS256","typ":"JWT"}')
    payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}"
    return f"{signing_input}.{_b64encode(_sign(signing_input, key))}"


def decode_jwt(token: str, key: bytes, now: float) -> dict[str, Any]:
    """The claims of a valid, unexpired HS256 JWT; ``ValueError`` for anything else."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT")
    header = _json(parts[0])
    # Only HS256: accepting the header's choice ("none", RS256 with our key) is the classic hole.
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise ValueError("the JWT must be signed with HS256")
    if not hmac.compare_digest(_sign(f"{parts[0]}.{parts[1]}", key), _b64decode(parts[2])):
        raise ValueError("the JWT signature does not match the secret key")
    claims = _json(parts[1])
    if not isinstance(claims, dict):
        raise ValueError("the JWT payload is not an object")
    expires = claims.get("exp")
    if expires is not None and (not isinstance(expires, (int, float)) or expires <= now):
        raise ValueError("the JWT has expired")
    return claims


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class AccessTokens:
    """Issues access tokens for upstream token requests, and checks ``/v1`` credentials."""

    def __init__(self, settings: Settings, authenticator: Authenticator) -> None:
        secret = settings.secret_key.get_secret_value() if settings.secret_key else None
        self._secret = TokenSource(secret, settings.secret_key_file)
        self._auth = authenticator
        self._user = settings.user
        self._unchecked_key = secrets.token_bytes(32)
        self._refused: OrderedDict[bytes, float] = OrderedDict()

    def _keys(self) -> tuple[bytes, bytes, str] | None:
        """The shared secret key, the access-token key and the current token."""
        token = self._auth.source.current()
        if token is None:
            return None
        shared = (self._secret.current() or token).encode()
        return shared, hmac.new(shared, _ACCESS_LABEL + token.encode(), "sha256").digest(), token

    def exchange(self, authorization: str | None) -> dict[str, str]:
        """Upstream's ``POST /v1/token``: an access token, ``AuthError`` or ``TooManyRequests``.

        The API token itself (Bearer or Basic) is also taken, as on every ``/v1`` route.
        """
        if not self._auth.enabled:
            return self._issue("anonymous", self._unchecked_key)
        keys = self._keys()
        if keys is not None and self._auth.accepts(authorization):
            return self._issue("flux", keys[1])
        try:
            user, key = self._verify(authorization)
        except AuthError as exc:
            for hook in self._auth.failure_hooks:
                hook()
            self._refuse_again(authorization or "", exc)
            raise
        return self._issue(user, key)

    def _refuse_again(self, authorization: str, exc: AuthError) -> None:
        """Remember a refused JWT; its repeat within REPEAT_SECONDS is a 429, not a 401."""
        if authorization.count(".") != 2:
            return  # not upstream's JWT: nothing would ask again by itself
        now = time.monotonic()
        digest = hashlib.sha256(authorization.encode()).digest()
        while self._refused and next(iter(self._refused.values())) < now - REPEAT_SECONDS:
            self._refused.popitem(last=False)
        seen = self._refused.pop(digest, None)
        self._refused[digest] = now
        if len(self._refused) > _REMEMBERED:
            self._refused.popitem(last=False)
        if seen is not None:
            raise TooManyRequests(
                f"{exc.detail}; this JWT was refused {now - seen:.1f} s ago: fix the secret "
                "key or the token before asking again",
                retry_after=REPEAT_SECONDS,
            ) from None

    def _verify(self, authorization: str | None) -> tuple[str, bytes]:
        scheme, _, credentials = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise AuthError("send 'Authorization: Bearer <JWT signed with the secret key>'")
        keys = self._keys()
        if keys is None:
            raise AuthError("no token is configured on the server")
        shared, access_key, token = keys
        try:
            claims = decode_jwt(credentials.strip(), shared, time.time())
        except ValueError as exc:
            raise AuthError(f"token request refused: {exc}") from None
        user, password = claims.get("user"), claims.get("pass")
        if claims.get("scope") != "token" or not isinstance(password, str):
            raise AuthError("token request refused: the JWT needs 'pass' and scope 'token'")
        if self._user is not None and not (isinstance(user, str) and _same(user, self._user)):
            raise AuthError("token request refused: invalid credentials")
        if not _same(password, token):
            raise AuthError("token request refused: invalid credentials")
        return (user if isinstance(user, str) and user else "flux"), access_key

    def _issue(self, user: str, key: bytes) -> dict[str, str]:
        now = int(time.time())
        claims = {"sub": user, "scope": "access", "iat": now, "exp": now + ACCESS_TOKEN_SECONDS}
        return {"access_token": encode_jwt(claims, key), "token_type": "Bearer"}

    def check(self, authorization: str | None) -> None:
        """The ``/v1`` auth dependency: an access token from ``/v1/token``, or the API token."""
        if not self._auth.enabled:
            return
        scheme, _, credentials = (authorization or "").partition(" ")
        keys = self._keys()
        if scheme.lower() == "bearer" and credentials.count(".") == 2 and keys is not None:
            try:
                claims = decode_jwt(credentials.strip(), keys[1], time.time())
            except ValueError:
                claims = {}
            if claims.get("scope") == "access":
                return
        # Anything else (an expired access token too) gets the usual check, and so its
        # 401 with WWW-Authenticate, which sends upstream's client back to /v1/token.
        self._auth.check(authorization)
