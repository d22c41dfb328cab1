"""Times as people read them: an instant shown in the deployment's time zone, the zone named
("2026-11-23 14:05:09 +08:00"), for pages (the Jinja filter ``localtime``) and exports (CSV cells).
Stored times stay UTC; only their display is local."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

FORMAT = "%Y-%m-%d %H:%M:%S"


def as_utc(dt: datetime) -> datetime:
    """An aware UTC instant (a naive value is taken as UTC, as the database stores it)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def offset_label(dt: datetime, tz: ZoneInfo) -> str:
    """The zone's UTC offset at that instant, e.g. ``+08:00`` (DST-aware)."""
    off = as_utc(dt).astimezone(tz).utcoffset()
    minutes = int(off.total_seconds() // 60) if off is not None else 0
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def local(dt: datetime | str | None, tz: ZoneInfo, *, zone: bool = True, seconds: bool = True) -> str:
    """``2026-11-23 14:05:09 +08:00`` in ``tz`` (empty for None; an ISO string is parsed first)."""
    if dt is None or dt == "":
        return ""
    if isinstance(dt, str):
        dt = datetime.fromisoformat(dt)
    loc = as_utc(dt).astimezone(tz)
    text = loc.strftime(FORMAT if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {offset_label(dt, tz)}" if zone else text


def zone_name(tz: ZoneInfo, at: datetime | None = None) -> str:
    """The zone as shown beside times on a page: ``Asia/Shanghai (UTC+08:00)``."""
    return f"{tz.key} (UTC{offset_label(at or datetime.now(UTC), tz)})"
