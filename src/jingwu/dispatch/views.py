"""Dispatch read models: the live board (KPIs are in kpi_views.py), the alarm-device list, open alerts and
a unit's current order. Queries shaped for a page; each checks the reader's scope and opens its own read
transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jingwu.dispatch.domain import IncidentStatus, LocationStatus, device_online, incident_number
from jingwu.dispatch.rows import AssignmentRow, IncidentRow, TransferRow
from jingwu.dispatch.services.common import Catalogue
from jingwu.dispatch.services.incidents import works_calls
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.domain import AgencyKind, Permission, Principal
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
    free_text = works_calls(p)  # addresses can name people (services/incidents.py)
    return {
        "now": uow.clock.now().isoformat(),
        "incidents": [{
            "id": i.id, "number": incident_number(i.received_at, i.seq), "status": i.status, "priority": i.priority,
            "level": i.level, "type_code": i.type_code,
            "type_name": types[i.type_code].name_zh if i.type_code in types else i.type_code,
            "type_name_en": types[i.type_code].name_en if i.type_code in types else i.type_code,
            "channel": i.channel, "address": i.address if free_text else ("…" if i.address else None),
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
             "signs": d.signs, "payload_format": d.payload_format,
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
