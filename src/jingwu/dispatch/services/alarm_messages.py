"""Alarm-button messages over MQTT (ADR 0025): the signature a signing device puts on an alarm, its check
(timestamp window; a replay is idempotent by event id), the event id derived for devices that send none,
and the profile-dependent parse of a payload (json or plain text). Pure functions, no I/O."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

MAX_PLAIN_BYTES = 256
EVENT_ID_MAX = 100


class AlarmRefused(ValueError):
    """A message that makes no incident; ``outcome`` is its counter label (rejected, forged, stale)."""

    def __init__(self, outcome: str, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome


def signed_text(code: str, event_id: str, ts: int) -> bytes:
    """What is signed: device code, event id and Unix timestamp (seconds), one per line."""
    return f"{code}\n{event_id}\n{ts}".encode()


def sign_alarm(secret: str, code: str, event_id: str, ts: int) -> str:
    """HMAC-SHA256 (hex) with the device's MQTT secret (sha256 hex of its key): what device firmware does."""
    return hmac.new(secret.encode(), signed_text(code, event_id, ts), hashlib.sha256).hexdigest()


def verify_alarm(secret: str, code: str, payload: dict[str, Any], *, now: float, window_s: float) -> str:
    """The event id of a correctly signed alarm ``{"event_id", "ts", "sig"}``; raises AlarmRefused:
    ``forged`` (signature missing, malformed or wrong) or ``stale`` (timestamp outside ±window)."""
    ev, ts, sig = payload.get("event_id"), payload.get("ts"), payload.get("sig")
    if not isinstance(ev, str) or not ev or len(ev) > EVENT_ID_MAX:
        raise AlarmRefused("forged", "signed alarm without a valid event_id")
    if isinstance(ts, bool) or not isinstance(ts, int):
        raise AlarmRefused("forged", "signed alarm without an integer ts")
    if not isinstance(sig, str) or not hmac.compare_digest(sig.lower(), sign_alarm(secret, code, ev, ts)):
        raise AlarmRefused("forged", "missing or wrong signature")
    if abs(now - ts) > window_s:
        raise AlarmRefused("stale", f"timestamp {ts} outside the {window_s:.0f} s window")
    return ev


def derived_event_id(mid: int, raw: bytes) -> str:
    """Event id of a message that carries none: the broker's message id on the app's session plus a hash of
    the payload. A QoS-1 redelivery (DUP) repeats both, so it finds the first delivery's incident."""
    return f"mqtt-{mid}-{hashlib.sha256(raw).hexdigest()[:16]}"


@dataclass(frozen=True)
class AlarmMessage:
    event_id: str | None  # None: derive one from the MQTT message
    signed: bool


def parse_alarm(raw: bytes, *, code: str, signs: bool, payload_format: str, secret: str, now: float,
                window_s: float) -> AlarmMessage:
    """An alarm payload read by the device's profile; raises AlarmRefused for one that makes no incident."""
    if payload_format == "plain":
        if len(raw) > MAX_PLAIN_BYTES:
            raise AlarmRefused("rejected", "plain payload too long")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AlarmRefused("rejected", "plain payload is not text") from exc
        return AlarmMessage(None, False)
    try:
        payload = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise AlarmRefused("forged" if signs else "rejected", "payload is not JSON") from exc
    if not isinstance(payload, dict):
        raise AlarmRefused("forged" if signs else "rejected", "payload is not a JSON object")
    if signs:
        return AlarmMessage(verify_alarm(secret, code, payload, now=now, window_s=window_s), True)
    ev = payload.get("event_id")
    if ev is not None and (not str(ev) or len(str(ev)) > EVENT_ID_MAX):
        raise AlarmRefused("rejected", "event_id empty or too long")
    return AlarmMessage(str(ev) if ev is not None else None, False)


class RateLimitedLog:
    """At most one log line per key (topic kind) per ``interval`` seconds; the lines held back are counted
    and reported with the next line (``suppressed``)."""

    def __init__(self, interval: float = 10.0, clock: Any = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> int | None:
        """None: hold this line back; else log it, with the returned number of lines held back before it."""
        with self._lock:
            now = self.clock()
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                self._held[key] = self._held.get(key, 0) + 1
                return None
            self._last[key] = now
            return self._held.pop(key, 0)
