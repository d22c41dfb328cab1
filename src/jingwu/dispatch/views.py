"""Dispatch read models: the live board, KPIs (response times), the alarm-device list, open alerts and
a unit's current order. Queries shaped for a page; each checks the reader's scope and opens its own read
transaction."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jingwu.dispatch.domain import IncidentStatus, device_online, incident_number
from jingwu.dispatch.rows import AssignmentRow, IncidentRow
from jingwu.dispatch.services.common import Catalogue
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.org_store import UnitRow

BOARD_LEVELS: dict[str, tuple[str, ...] | None] = {"station": None, "branch": ("branch", "city"), "city": ("city",)}
BOARD_LIMIT = 500
RECENTLY_CLOSED = timedelta(minutes=30)


def board(p: Principal, *, uow: DispatchUnitOfWork, cat: Catalogue, level: str | None, hours: int
          ) -> dict[str, Any]:
    """Live board snapshot: open and recently closed incidents, units, alerts (scoped to the reader)."""
    p.require(Permission.READ_ORG)
    since = uow.clock.now() - timedelta(hours=hours)
    with uow:
        incs = uow.incidents.search(path=p.agency_path, since=since, limit=BOARD_LIMIT,
                                    min_level=BOARD_LEVELS[level] if level else None)
        recent = uow.clock.now() - RECENTLY_CLOSED
        incs = [i for i in incs if i.status != IncidentStatus.MERGED.value
                and (i.status != IncidentStatus.CLOSED.value or (i.closed_at is not None and i.closed_at > recent))]
        asgs = uow.assignments.for_incidents([i.id for i in incs])
        units = [u for u in uow.units.in_subtree(p.agency_path) if u.active]  # deactivated: out of service
        al = uow.alerts.open(p.agency_path)
        dup = uow.incidents.open_proposal_ids(p.agency_path)
    active: dict[str, list[str]] = {}
    for a in asgs:
        if a.active:
            active.setdefault(a.incident_id, []).append(a.unit_id)
    types = cat.types.types
    return {
        "now": uow.clock.now().isoformat(),
        "incidents": [{
            "id": i.id, "number": incident_number(i.received_at, i.seq), "status": i.status, "priority": i.priority,
            "level": i.level, "type_code": i.type_code,
            "type_name": types[i.type_code].name_zh if i.type_code in types else i.type_code,
            "type_name_en": types[i.type_code].name_en if i.type_code in types else i.type_code,
            "channel": i.channel, "lon": i.snapped_lon or i.lon, "lat": i.snapped_lat or i.lat, "address": i.address,
            "received_at": i.received_at.isoformat(), "units": active.get(i.id, []), "duplicate": i.id in dup,
            "agency_id": i.agency_id} for i in incs],
        "units": [{"id": u.id, "call_sign": u.call_sign, "kind": u.kind, "status": u.status, "lon": u.lon,
                   "lat": u.lat, "incident_id": u.incident_id, "agency_id": u.agency_id,
                   "position_at": u.position_at.isoformat() if u.position_at else None} for u in units],
        "alerts": [{"id": a.id, "kind": a.kind, "message": a.message, "incident_id": a.incident_id,
                    "unit_id": a.unit_id, "detail": a.detail, "raised_at": a.raised_at.isoformat()} for a in al],
    }


def devices(p: Principal, *, uow: DispatchUnitOfWork) -> list[dict[str, Any]]:
    """The alarm devices in the reader's scope, each with whether it is online (domain.device_online)."""
    p.require(Permission.READ_ORG)
    now = uow.clock.now()
    with uow:
        rows = uow.devices.all(p.agency_path)
    return [{"id": d.id, "code": d.code, "name": d.name, "lon": d.lon, "lat": d.lat, "agency_id": d.agency_id,
             "last_heartbeat_at": d.last_heartbeat_at, "heartbeat_seconds": d.heartbeat_seconds, "active": d.active,
             "online": device_online(d.last_heartbeat_at, d.heartbeat_seconds, now)} for d in rows]


def open_alerts(p: Principal, *, uow: DispatchUnitOfWork) -> list[dict[str, Any]]:
    """Open alerts in the reader's scope."""
    p.require(Permission.READ_ORG)
    with uow:
        rows = uow.alerts.open(p.agency_path)
    return [a.__dict__ for a in rows]


@dataclass(frozen=True)
class UnitOrder:
    """A unit and its current order (assignment and incident), for the mobile unit view."""

    unit: UnitRow
    assignment: AssignmentRow | None
    incident: IncidentRow | None


def unit_order(p: Principal, unit_id: str, *, uow: DispatchUnitOfWork) -> UnitOrder:
    with uow:
        u = uow.units.get(unit_id)
        p.require(Permission.READ_ORG, u.agency_path)
        a = uow.assignments.active_for_unit(u.id)
        inc = uow.incidents.get(a.incident_id) if a else None
    return UnitOrder(u, a, inc)


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return math.nan
    k = (len(s) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _summary(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "mean": None, "median": None, "p90": None}
    return {"n": len(values), "mean": round(statistics.fmean(values), 1),
            "median": round(statistics.median(values), 1), "p90": round(_pct(values, 0.9), 1)}


def kpis(p: Principal, *, uow: DispatchUnitOfWork, since: datetime, until: datetime, tz: ZoneInfo
         ) -> dict[str, Any]:
    """Response times in seconds (mean, median, p90) by type, priority, station and hour, and unit rankings.

    intake→dispatch = first dispatch − received; dispatch→arrival = first arrival − first dispatch;
    total = first arrival − received.
    """
    if not p.can(Permission.DISPATCH):
        p.require(Permission.ANALYSE)
    with uow:
        incs = uow.incidents.search(path=p.agency_path, since=since, until=until, limit=1_000_000)
        incs = [i for i in incs if i.status != IncidentStatus.MERGED.value]
        asgs = uow.assignments.for_incidents([i.id for i in incs])
        agencies = {a.id: a for a in uow.agencies.in_subtree(p.agency_path)}
        units = {u.id: u for u in uow.units.in_subtree(p.agency_path)}
    groups: dict[str, dict[str, dict[str, list[float]]]] = {k: {} for k in ("type", "priority", "station", "hour")}
    overall: dict[str, list[float]] = {"intake_to_dispatch": [], "dispatch_to_arrival": [], "total": []}

    def add(dim: str, key: str, metric: str, v: float) -> None:
        groups[dim].setdefault(key, {m: [] for m in overall})[metric].append(v)

    for i in incs:
        keys = {"type": i.type_code, "priority": f"P{i.priority}",
                "station": agencies[i.agency_id].name if i.agency_id in agencies else i.agency_id,
                "hour": f"{i.received_at.astimezone(tz).hour:02d}"}
        vals: dict[str, float] = {}
        if i.dispatched_at:
            vals["intake_to_dispatch"] = (i.dispatched_at - i.received_at).total_seconds()
        if i.dispatched_at and i.arrived_at:
            vals["dispatch_to_arrival"] = (i.arrived_at - i.dispatched_at).total_seconds()
        if i.arrived_at:
            vals["total"] = (i.arrived_at - i.received_at).total_seconds()
        for m, v in vals.items():
            overall[m].append(v)
            for dim, key in keys.items():
                add(dim, key, m, v)
    per_unit: dict[str, list[float]] = {}
    for a in asgs:
        if a.on_scene_at:
            per_unit.setdefault(a.unit_id, []).append((a.on_scene_at - a.dispatched_at).total_seconds())
    ranking: list[dict[str, Any]] = [
        {"unit_id": uid, "call_sign": units[uid].call_sign if uid in units else uid, "arrivals": len(v),
         "median_dispatch_to_arrival": round(statistics.median(v), 1)} for uid, v in per_unit.items()]
    ranking.sort(key=lambda r: (float(r["median_dispatch_to_arrival"]), -int(r["arrivals"])))
    return {
        "since": since.isoformat(), "until": until.isoformat(), "incidents": len(incs),
        "overall": {m: _summary(v) for m, v in overall.items()},
        "by": {dim: {k: {m: _summary(v) for m, v in d.items()} for k, d in sorted(g.items())}
               for dim, g in groups.items()},
        "units": ranking,
    }
