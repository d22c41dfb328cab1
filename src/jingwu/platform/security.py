"""Password hashing (argon2id) and signed, expiring bearer/session tokens (HMAC-SHA256) carrying
the id of their server-side session (``sid``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from jingwu.platform.errors import NotAuthenticated, TokenExpired

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    issued_at: datetime
    kind: str  # session (page cookie) | api (bearer header)
    sid: str | None  # the server-side session (platform.tables.auth_sessions) the token belongs to


def issue_token(secret: str, *, user_id: str, now: datetime, ttl: timedelta, kind: str = "api",
                sid: str | None = None) -> str:
    payload: dict[str, object] = {"sub": user_id, "iat": int(now.timestamp()),
                                  "exp": int((now + ttl).timestamp()), "knd": kind}
    if sid is not None:
        payload["sid"] = sid
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    sig = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    return f"{body}.{sig}"


def read_token(secret: str, token: str, *, now: datetime) -> tuple[str, datetime]:
    """Return (user_id, issued_at) of a valid token; raise 401 errors otherwise."""
    claims = read_claims(secret, token, now=now)
    return claims.user_id, claims.issued_at


def read_claims(secret: str, token: str, *, now: datetime) -> TokenClaims:
    """The claims of a token whose signature and expiry hold; raise 401 errors otherwise."""
    try:
        body, sig = token.split(".")
        expected = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(sig, expected):
            raise ValueError("signature")
        payload = json.loads(_unb64(body))
        user_id = str(payload["sub"])
        exp = int(payload["exp"])
        iat = int(payload["iat"])
        kind = str(payload.get("knd", "api"))
        sid = payload.get("sid")
    except (ValueError, KeyError, TypeError) as exc:
        raise NotAuthenticated("The token is malformed or its signature is invalid.", code="invalid_token") from exc
    if now.timestamp() >= exp:
        raise TokenExpired("The token has expired; log in again.")
    return TokenClaims(user_id, datetime.fromtimestamp(iat, tz=now.tzinfo), kind,
                       str(sid) if sid is not None else None)
