"""The federation message envelope: canonical JSON, Ed25519 signatures, and the checks a received
message passes before anything is applied (version, addressee, peer, key, signature, time window).
No database here; the inbox (seen message ids) is checked by the service that applies a message.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from jingwu.platform.errors import AppError

VERSION = 1
ENVELOPE_KEYS = frozenset({"v", "id", "peer", "to", "kid", "created_at", "type", "payload", "sig"})
MESSAGE_TYPES = frozenset({
    "agreement.proposed", "agreement.approved", "agreement.revoked",
    "record.shared",
    "request.created", "request.updated",
    "measure.notice",
    "key.rotated",
})


class Refused(AppError):
    """A received message that is not applied. ``code`` names why (machine-readable)."""

    status = 403


class UnknownPeer(Refused):
    code = "unknown_peer"


class BadSignature(Refused):
    code = "bad_signature"
    status = 401


class ReplayRefused(Refused):
    code = "replay"
    status = 409


class UnsupportedVersion(Refused):
    code = "unsupported_version"
    status = 422


class MalformedMessage(Refused):
    code = "malformed_message"
    status = 422


# ------------------------------------------------------------------ canonical JSON


def _check_canonical(value: Any, where: str = "$") -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > 2 ** 53 - 1:
            raise MalformedMessage(f"{where}: integer outside ±(2^53-1)")
        return
    if isinstance(value, float):
        raise MalformedMessage(f"{where}: non-integral numbers travel as decimal strings")
    if isinstance(value, list):
        for i, v in enumerate(value):
            _check_canonical(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise MalformedMessage(f"{where}: object keys must be strings")
            _check_canonical(v, f"{where}.{k}")
        return
    raise MalformedMessage(f"{where}: {type(value).__name__} is not a JSON value")


def canonical_bytes(value: Any) -> bytes:
    """UTF-8 JSON with keys sorted, no insignificant white space, no escaping of non-ASCII; integers only
    (the JSON subset on which this and RFC 8785 agree)."""
    _check_canonical(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def signing_input(env: Mapping[str, Any]) -> bytes:
    return canonical_bytes({k: v for k, v in env.items() if k != "sig"})


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ------------------------------------------------------------------ keys


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def public_key_text(key: Ed25519PrivateKey) -> str:
    return b64u(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def load_private(raw: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(raw)


def load_public(text: str) -> Ed25519PublicKey:
    try:
        raw = unb64u(text)
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise MalformedMessage(f"not an Ed25519 public key (32 bytes, base64url): {exc}") from exc


def check_public_key(text: str) -> str:
    try:
        load_public(text)
    except MalformedMessage as exc:
        raise AppError(exc.message, code="invalid_public_key") from exc
    return text


# ------------------------------------------------------------------ envelopes


def utc_text(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def seal(*, sender: str, to: str, key_id: str, key: Ed25519PrivateKey, type_: str, payload: dict[str, Any],
         now: datetime, msg_id: str | None = None) -> dict[str, Any]:
    """A signed envelope: every member but ``sig`` is signed, over its canonical JSON."""
    if type_ not in MESSAGE_TYPES:
        raise ValueError(f"unknown message type {type_}")
    env: dict[str, Any] = {"v": VERSION, "id": msg_id or str(uuid.uuid4()), "peer": sender, "to": to,
                           "kid": key_id, "created_at": utc_text(now), "type": type_, "payload": payload}
    env["sig"] = b64u(key.sign(signing_input(env)))
    return env


@dataclass(frozen=True)
class Checked:
    id: str
    peer: str
    kid: str
    type: str
    created_at: datetime
    payload: dict[str, Any]
    digest: str  # sha-256 of the signing input: a re-sent copy has the same digest


def parse(raw: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        env = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedMessage(f"not JSON: {exc}") from exc
    if not isinstance(env, dict):
        raise MalformedMessage("an envelope is a JSON object")
    return env


def claimed(env: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(message id, peer, type) as claimed, for logging a refusal."""
    def s(k: str) -> str | None:
        v = env.get(k)
        return v[:200] if isinstance(v, str) else None
    return s("id"), s("peer"), s("type")


def verify(env: Mapping[str, Any], *, me: str, peer_keys: Mapping[str, str] | None, now: datetime,
           max_age: timedelta, max_skew: timedelta) -> Checked:
    """Check an envelope in order: version, shape, addressee, peer known, key known, signature, time window.
    ``peer_keys``: the claimed peer's usable key ids → public keys (None: the peer is unknown)."""
    import hashlib

    if env.get("v") != VERSION:
        raise UnsupportedVersion(f"envelope version {env.get('v')!r} is not supported (this end speaks {VERSION})")
    missing = ENVELOPE_KEYS - set(env)
    extra = set(env) - ENVELOPE_KEYS
    if missing or extra:
        raise MalformedMessage(f"envelope members missing {sorted(missing)} / unexpected {sorted(extra)}")
    for k in ("id", "peer", "to", "kid", "created_at", "type", "sig"):
        if not isinstance(env[k], str) or not env[k]:
            raise MalformedMessage(f"envelope member {k!r} must be a non-empty string")
    if not isinstance(env["payload"], dict):
        raise MalformedMessage("envelope payload must be an object")
    if env["to"] != me:
        raise UnknownPeer(f"message addressed to {env['to']!r}, this deployment is {me!r}")
    if peer_keys is None:
        raise UnknownPeer(f"peer {env['peer']!r} is not configured here")
    pub = peer_keys.get(env["kid"])
    if pub is None:
        raise BadSignature(f"key {env['kid']!r} of peer {env['peer']!r} is unknown or retired")
    try:
        sig = unb64u(env["sig"])
        load_public(pub).verify(sig, signing_input(env))
    except (InvalidSignature, ValueError, MalformedMessage) as exc:
        raise BadSignature(f"signature of message {env['id']!r} does not verify with key {env['kid']!r}") from exc
    try:
        created = datetime.fromisoformat(env["created_at"].replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedMessage(f"created_at {env['created_at']!r} is not an ISO 8601 time") from exc
    if created.tzinfo is None:
        raise MalformedMessage("created_at needs a UTC offset")
    if created < now - max_age:
        raise ReplayRefused(f"message {env['id']} was created at {env['created_at']}, outside the replay window "
                            f"of {max_age}")
    if created > now + max_skew:
        raise ReplayRefused(f"message {env['id']} is dated {env['created_at']}, in the future beyond {max_skew}")
    if env["type"] not in MESSAGE_TYPES:
        raise MalformedMessage(f"unknown message type {env['type']!r}")
    digest = hashlib.sha256(signing_input(env)).hexdigest()
    return Checked(env["id"], env["peer"], env["kid"], env["type"], created.astimezone(UTC), dict(env["payload"]),
                   digest)
