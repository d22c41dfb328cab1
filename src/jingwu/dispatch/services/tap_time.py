"""The time of an officer's tap (status or feedback), as the phone saw it.

A tap made without network is queued on the phone with its real time and sent on reconnect; the
request then carries ``at`` (ISO 8601 with an offset). The stored status time is that ``at``; the
server's receipt time is kept beside it in the incident event and the audit entry. This module only
decides whether a claimed time is acceptable:

* ``invalid_time`` (422): not ISO 8601, or without an offset (a phone's local time without zone is
  ambiguous);
* ``status_in_future`` (422): later than the server's clock beyond a small skew;
* ``status_too_old`` (422): older than the configured bound (a queue left for days is not replayed
  as facts);
* ``status_before_previous`` (409): earlier than the previous status time of the same assignment (the
  chain 签收 → 出警 → 到场 → 处置完毕 stays ordered in time as well as in sequence).

A time slightly in the future (within the skew) is clamped to the server's clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jingwu.platform.errors import Conflict, InvalidInput

DEFAULT_SKEW = timedelta(seconds=30)
DEFAULT_MAX_AGE = timedelta(hours=6)


@dataclass(frozen=True)
class TapPolicy:
    skew: timedelta = DEFAULT_SKEW
    max_age: timedelta = DEFAULT_MAX_AGE


def parse(value: str | datetime | None) -> datetime | None:
    """``None`` stays ``None``; anything else must be an ISO 8601 time with an offset (→ UTC)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(f"at={value!r} is not an ISO 8601 time (e.g. 2026-12-01T21:05:00+08:00).",
                               code="invalid_time") from None
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise InvalidInput("at needs a time zone offset (e.g. 2026-12-01T21:05:00+08:00).", code="invalid_time")
    try:
        return dt.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 has no UTC time
        raise InvalidInput(f"at={value!r} is out of range.", code="invalid_time") from None


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def effective(claimed: datetime | None, *, now: datetime, previous: Iterable[datetime | None] = (),
              policy: TapPolicy | None = None) -> datetime:
    """The time to store for a tap received at ``now``: ``claimed`` if acceptable, ``now`` without one."""
    pol = policy or TapPolicy()
    now = _utc(now)
    prev = max((_utc(p) for p in previous if p is not None), default=None)
    if claimed is None:
        return now
    at = _utc(claimed)
    if at > now + pol.skew:
        raise InvalidInput(f"The tap's time {at.isoformat()} is in the future (server time {now.isoformat()}).",
                           code="status_in_future")
    at = min(at, now)
    if at < now - pol.max_age:
        hours = pol.max_age.total_seconds() / 3600
        raise InvalidInput(f"The tap's time {at.isoformat()} is older than {hours:g} h; report it to the "
                           "dispatcher instead.", code="status_too_old")
    if prev is not None and at < prev:
        raise Conflict(f"The tap's time {at.isoformat()} is before the previous status time {prev.isoformat()}.",
                       code="status_before_previous")
    return at
