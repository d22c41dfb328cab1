"""Dispatch domain: incident types and priorities, run cards, the unit status
chain, escalation rules, duplicate-call compatibility and timer rules. The
Incident model (its status moves, merge, close and level rules) is in
``incident.py``.

Standard library only. Incident types and run cards are configurable data
files (``data/incident_types.csv``, ``data/run_cards.json``); the code here
only interprets them.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from jingwu.platform.errors import Conflict, InvalidInput

DATA_DIR = Path(__file__).resolve().parent / "data"


class Channel(StrEnum):
    PHONE = "phone"  # 110 call, with handset location
    SMS_LINK = "sms_link"  # location shared through a one-time link
    ALARM = "alarm"  # one-click street alarm button (MQTT/HTTP)
    WEB = "web"  # web/app report


class IncidentStatus(StrEnum):
    OPEN = "open"  # received, not yet dispatched
    DISPATCHED = "dispatched"
    ON_SCENE = "on_scene"
    CLOSED = "closed"
    MERGED = "merged"


OPEN_STATUSES = (IncidentStatus.OPEN, IncidentStatus.DISPATCHED, IncidentStatus.ON_SCENE)


class LocationStatus(StrEnum):
    """Where an incident stands on the map (a call is never refused for its location)."""

    LOCATED = "located"  # placed on the served road network
    UNLOCATED = "unlocated"  # no usable position yet (address only, or too far from any road)
    OUTSIDE_AREA = "outside_area"  # a position outside the served area: locate it by hand or transfer it


class TransferOutcome(StrEnum):
    ACCEPTED = "accepted"  # the neighbouring agency took the call: the incident closes as "transferred"
    REFUSED = "refused"
    NO_ANSWER = "no_answer"


TRANSFERRED = "transferred"  # the disposition of an incident another agency accepted


class UnitStatus(StrEnum):
    AVAILABLE = "available"
    DISPATCHED = "dispatched"
    ACKNOWLEDGED = "acknowledged"  # 签收
    EN_ROUTE = "en_route"  # 出警
    ON_SCENE = "on_scene"  # 到场
    CLEARED = "cleared"  # 处置完毕
    OFF_DUTY = "off_duty"


# The legal moves of a unit; anything else is refused. Feedback (反馈) is recorded
# on the assignment after "cleared" and returns the unit to "available".
NEXT: dict[UnitStatus, set[UnitStatus]] = {
    UnitStatus.AVAILABLE: {UnitStatus.DISPATCHED, UnitStatus.OFF_DUTY},
    UnitStatus.DISPATCHED: {UnitStatus.ACKNOWLEDGED, UnitStatus.AVAILABLE},
    UnitStatus.ACKNOWLEDGED: {UnitStatus.EN_ROUTE, UnitStatus.AVAILABLE},
    UnitStatus.EN_ROUTE: {UnitStatus.ON_SCENE, UnitStatus.AVAILABLE},
    UnitStatus.ON_SCENE: {UnitStatus.CLEARED},
    UnitStatus.CLEARED: {UnitStatus.AVAILABLE},
    UnitStatus.OFF_DUTY: {UnitStatus.AVAILABLE},
}

# assignment timestamp column for each status the unit reports
STATUS_TIMESTAMP = {
    UnitStatus.DISPATCHED: "dispatched_at",
    UnitStatus.ACKNOWLEDGED: "acknowledged_at",
    UnitStatus.EN_ROUTE: "en_route_at",
    UnitStatus.ON_SCENE: "on_scene_at",
    UnitStatus.CLEARED: "cleared_at",
}


class UnitUnavailable(Conflict):
    code = "unit_unavailable"


class IllegalTransition(Conflict):
    code = "illegal_transition"


def check_transition(current: str, new: str) -> UnitStatus:
    try:
        cur, nxt = UnitStatus(current), UnitStatus(new)
    except ValueError:
        raise InvalidInput(f"Unknown unit status '{new}'; known: {[s.value for s in UnitStatus]}.",
                           code="unknown_status")
    if nxt not in NEXT[cur]:
        raise IllegalTransition(f"A unit cannot go from '{cur.value}' to '{nxt.value}'.")
    return nxt


# ------------------------------------------------------------------ incident types


@dataclass(frozen=True)
class IncidentType:
    code: str
    name_zh: str
    name_en: str
    category: str
    priority: int
    apco: str
    ga240: str
    vendor_a: str


@dataclass(frozen=True)
class TypeTable:
    types: dict[str, IncidentType]

    @classmethod
    def load(cls, path: Path | None = None) -> TypeTable:
        path = path or DATA_DIR / "incident_types.csv"
        with path.open(encoding="utf-8") as fh:
            rows = [IncidentType(r["code"], r["name_zh"], r["name_en"], r["category"], int(r["priority"]),
                                 r["apco"], r["ga240"], r["vendor_a"]) for r in csv.DictReader(fh)]
        return cls({t.code: t for t in rows})

    def get(self, code: str) -> IncidentType:
        t = self.types.get(code)
        if t is None:
            raise InvalidInput(f"Unknown incident type '{code}'.", code="unknown_type")
        return t


@dataclass(frozen=True)
class IntakeFlags:
    """Facts from the call that upgrade priority (reference §5.3)."""

    weapon: bool = False
    trapped: bool = False
    ongoing: bool = False
    injuries: int = 0
    deaths: int = 0


def grade_priority(t: IncidentType, flags: IntakeFlags) -> tuple[int, list[str]]:
    """Priority 1 (most urgent) .. 4 and the reasons for any upgrade."""
    p = t.priority
    why: list[str] = []
    if flags.weapon or flags.trapped or flags.deaths > 0 or flags.injuries > 0:
        if p > 1:
            why.append("upgraded to P1: weapon, trapped person or casualties")
        p = 1
    elif flags.ongoing and p > 2:
        why.append("upgraded to P2: happening now")
        p = 2
    return p, why


# ------------------------------------------------------------------ run cards


@dataclass(frozen=True)
class RunCardRule:
    type_prefix: str
    units: dict[str, int]
    town: str | None = None
    window: tuple[time, time] | None = None

    def matches(self, type_code: str, town_code: str | None, local: time) -> bool:
        if not type_code.startswith(self.type_prefix):
            return False
        if self.town is not None and self.town != town_code:
            return False
        if self.window is not None:
            a, b = self.window
            inside = a <= local < b if a <= b else (local >= a or local < b)
            if not inside:
                return False
        return True

    def specificity(self) -> tuple[int, int, int]:
        return (self.town is not None, len(self.type_prefix), self.window is not None)


@dataclass(frozen=True)
class RunCards:
    rules: list[RunCardRule] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path | None = None) -> RunCards:
        data: dict[str, Any] = json.loads((path or DATA_DIR / "run_cards.json").read_text(encoding="utf-8"))
        out = []
        for r in data["rules"]:
            win = None
            if r.get("window"):
                a, b = r["window"].split("-")
                win = (time.fromisoformat(a), time.fromisoformat(b))
            out.append(RunCardRule(r.get("type", ""), dict(r["units"]), r.get("town"), win))
        return cls(out)

    def requirement(self, type_code: str, town_code: str | None, local: time) -> tuple[dict[str, int], str]:
        """Unit kinds and counts required, and a description of the rule that decided."""
        best = max((r for r in self.rules if r.matches(type_code, town_code, local)),
                   key=lambda r: r.specificity(), default=None)
        if best is None:
            return {"patrol_car": 1}, "default"
        desc = f"type {best.type_prefix or '*'}"
        if best.town:
            desc += f", area {best.town}"
        if best.window:
            desc += f", {best.window[0]:%H:%M}-{best.window[1]:%H:%M}"
        return dict(best.units), desc


# ------------------------------------------------------------------ escalation


class Level(StrEnum):
    STATION = "station"
    BRANCH = "branch"
    CITY = "city"


LEVEL_ORDER = {Level.STATION: 0, Level.BRANCH: 1, Level.CITY: 2}


def escalation_level(*, priority: int, category: str, deaths: int, injuries: int, units_assigned: int,
                     type_code: str) -> tuple[Level, list[str]]:
    """Command level by rule (seed 003: three-level command; major incidents go up)."""
    why: list[str] = []
    level = Level.STATION
    if deaths > 0 or injuries >= 3 or category in ("group", "disaster") or type_code[:4] in ("0114", "0115", "0110"):
        level = Level.CITY
        why.append("major: deaths, ≥3 injured, mass incident, disaster, explosion, terrorism or hostage")
    elif units_assigned >= 3:
        level = Level.CITY
        why.append("three or more units committed")
    elif priority == 1:
        level = Level.BRANCH
        why.append("priority 1")
    return level, why


# ------------------------------------------------------------------ duplicates

DUPLICATE_RADIUS_M = 300.0
DUPLICATE_WINDOW = timedelta(minutes=15)

# Grid cells for the duplicate search: 0.005 degrees (about 555 m north-south, 480 m east-west at
# Chengdu's latitude), stored with each incident and indexed with received_at.
CELL_DEG = 0.005
_M_PER_DEG = 111_195.0


def cell_of(lon: float, lat: float) -> int:
    """The grid cell holding a point."""
    return math.floor(lat / CELL_DEG) * 100_000 + math.floor(lon / CELL_DEG)


def cells_around(lon: float, lat: float, radius_m: float = DUPLICATE_RADIUS_M) -> list[int]:
    """Every cell that may hold a point within ``radius_m`` of (lon, lat): the 3 x 3 block at
    Chengdu's latitude, wider east-west where meridians converge."""
    iy, ix = math.floor(lat / CELL_DEG), math.floor(lon / CELL_DEG)
    ny = math.ceil(radius_m / (CELL_DEG * _M_PER_DEG))
    nx = math.ceil(radius_m / (CELL_DEG * _M_PER_DEG * max(math.cos(math.radians(lat)), 0.01)))
    return [(iy + dy) * 100_000 + ix + dx for dy in range(-ny, ny + 1) for dx in range(-nx, nx + 1)]


WILDCARD_CATEGORIES = ("alarm", "other")


def compatible_categories(category: str) -> tuple[str, ...] | None:
    """The categories a call of ``category`` may duplicate: its own or an unspecific one (None = any,
    when the call itself is unspecific). Two calls may be the same incident when their categories agree
    or one of them is unspecific."""
    return None if category in WILDCARD_CATEGORIES else (category, *WILDCARD_CATEGORIES)


# ------------------------------------------------------------------ timers

ACK_TIMEOUT = timedelta(seconds=60)  # not acknowledged → suggest the next unit
CONTACT_TIMEOUT = timedelta(minutes=5)  # on scene without contact → officer-safety alert
STALE_POSITION = timedelta(minutes=2)  # older positions are flagged in recommendations
MISSED_HEARTBEATS = 3  # an alarm device silent for this many heartbeat periods is offline


def device_online(last_heartbeat_at: datetime | None, heartbeat_seconds: int, now: datetime) -> bool:
    """An alarm device is online while its last heartbeat is at most MISSED_HEARTBEATS periods old."""
    return (last_heartbeat_at is not None
            and now - last_heartbeat_at <= timedelta(seconds=MISSED_HEARTBEATS * heartbeat_seconds))


def incident_number(at: datetime, seq: int) -> str:
    return f"JQ{at:%Y%m%d}{seq:06d}"
