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

from jingwu.dispatch.domain import IncidentStatus, LocationStatus, device_online, incident_number
from jingwu.dispatch.rows import AssignmentRow, IncidentRow, TransferRow
from jingwu.dispatch.services.common import Catalogue
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.domain import AgencyKind, Permission, Principal
from jingwu.platform.errors import InvalidInput
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
        crews = uow.crews.crewed([u.id for u in units], uow.clock.now())
        dup = uow.incidents.open_proposal_ids(p.agency_path)
        pending = {t.incident_id: t for t in uow.transfers.for_incidents(
            [i.id for i in incs if i.status == IncidentStatus.OPEN.value]) if t.outcome is None}
        targets = transfer_targets(p, uow)
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
            "channel": i.channel, "address": i.address,
            # map position: none for a call outside the served area (its reported position is in the detail)
            "lon": None if outside(i) else i.snapped_lon or i.lon,
            "lat": None if outside(i) else i.snapped_lat or i.lat,
            "received_at": i.received_at.isoformat(), "units": active.get(i.id, []), "duplicate": i.id in dup,
            "agency_id": i.agency_id, "location_status": i.location_status,
            "transfer": _pending(pending.get(i.id)), "handling": i.handling} for i in incs],
        "transfer_targets": targets,
        "units": [{"id": u.id, "call_sign": u.call_sign, "kind": u.kind, "status": u.status, "lon": u.lon,
                   "lat": u.lat, "incident_id": u.incident_id, "agency_id": u.agency_id,
                   "position_at": u.position_at.isoformat() if u.position_at else None,
                   "crew": crews.get(u.id, [])} for u in units],
        "alerts": [{"id": a.id, "kind": a.kind, "message": a.message, "incident_id": a.incident_id,
                    "unit_id": a.unit_id, "detail": a.detail, "raised_at": a.raised_at.isoformat()} for a in al],
    }


def outside(i: IncidentRow) -> bool:
    return i.location_status == LocationStatus.OUTSIDE_AREA.value


def _pending(t: TransferRow | None) -> dict[str, Any] | None:
    return None if t is None else {"id": t.id, "target_agency_id": t.target_agency_id, "target_name": t.target_name,
                                   "target_phone": t.target_phone, "requested_at": t.requested_at.isoformat()}


def transfer_targets(p: Principal, uow: DispatchUnitOfWork) -> list[dict[str, Any]]:
    """Agencies of this deployment a call may be transferred to: the city bureaus (and top agencies) outside
    the reader's own city (neighbours). Their names are organisation data, readable by any call-taker."""
    if not p.can(Permission.TAKE_CALLS):
        return []
    return [{"id": a.id, "name": a.name, "name_en": a.name_en, "kind": a.kind}
            for a in uow.agencies.in_subtree("/")
            if (a.kind == AgencyKind.CITY_BUREAU.value or a.parent_id is None)
            and not p.agency_path.startswith(a.path) and not a.path.startswith(p.agency_path)]


def devices(p: Principal, *, uow: DispatchUnitOfWork) -> list[dict[str, Any]]:
    """The alarm devices in the reader's scope, each with whether it is online (domain.device_online)."""
    p.require(Permission.READ_ORG)
    now = uow.clock.now()
    with uow:
        rows = uow.devices.all(p.agency_path)
    return [{"id": d.id, "code": d.code, "name": d.name, "lon": d.lon, "lat": d.lat, "agency_id": d.agency_id,
             "last_heartbeat_at": d.last_heartbeat_at, "heartbeat_seconds": d.heartbeat_seconds, "active": d.active,
             "online": device_online(d.last_heartbeat_at, d.heartbeat_seconds, now)} for d in rows]


def position_rejects(p: Principal, *, uow: DispatchUnitOfWork, since: datetime | None, limit: int
                     ) -> dict[str, Any]:
    """Refused positions in the reader's scope (ADR 0018): counts by reason and the latest rows."""
    p.require(Permission.DISPATCH)
    with uow:
        counts = uow.position_rejects.counts(p.agency_path, since=since)
        rows = uow.position_rejects.recent(p.agency_path, since=since, limit=limit)
    return {"counts": counts, "total": sum(counts.values()),
            "rejects": [{"id": r.id, "unit_id": r.unit_id, "call_sign": r.call_sign, "reason": r.reason,
                         "lon": r.lon, "lat": r.lat,
                         "reported_at": r.reported_at.isoformat() if r.reported_at else None,
                         "received_at": r.received_at.isoformat(), "actor": r.actor} for r in rows]}


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


OFFICER_INITIATED_RULES = ("exclude", "include", "only")


def kpis(p: Principal, *, uow: DispatchUnitOfWork, since: datetime, until: datetime, tz: ZoneInfo,
         officer_initiated: str = "exclude") -> dict[str, Any]:
    """Response times in seconds (mean, median, p90) by type, priority, station and hour, unit rankings, and
    incident counts.

    intake→dispatch = first dispatch − received; dispatch→arrival = first arrival − first dispatch;
    total = first arrival − received. Live and imported incidents alike (imported ones carry their CAD times).
    Officer-initiated (on-view) incidents are left out of the response times by default (their "response"
    is zero by construction): ``officer_initiated`` = exclude | include | only. Counts (total, per
    priority, officer-initiated, imported, per location status) always cover every incident in the window.
    """
    if officer_initiated not in OFFICER_INITIATED_RULES:
        raise InvalidInput(f"officer_initiated must be one of {list(OFFICER_INITIATED_RULES)}.",
                           code="invalid_officer_initiated")
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

    counts: dict[str, Any] = {"incidents": len(incs), "by_priority": {}, "officer_initiated": 0, "imported": 0,
                              "by_location_status": {}}
    for i in incs:
        pk = f"P{i.priority}"
        counts["by_priority"][pk] = counts["by_priority"].get(pk, 0) + 1
        counts["by_location_status"][i.location_status] = counts["by_location_status"].get(i.location_status, 0) + 1
        counts["officer_initiated"] += bool(i.officer_initiated)
        counts["imported"] += i.source == "imported"
    timed = [i for i in incs if officer_initiated == "include"
             or bool(i.officer_initiated) == (officer_initiated == "only")]
    for i in timed:
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
        "officer_initiated": officer_initiated, "timed_incidents": len(timed),
        "counts": {**counts, "by_priority": dict(sorted(counts["by_priority"].items()))},
        "overall": {m: _summary(v) for m, v in overall.items()},
        "by": {dim: {k: {m: _summary(v) for m, v in d.items()} for k, d in sorted(g.items())}
               for dim, g in groups.items()},
        "units": ranking,
    }
