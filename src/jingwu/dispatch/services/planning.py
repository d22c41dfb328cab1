"""What a dispatch is planned on, before its write transaction (ADR 0019): the route from a unit to the
incident in the unit's travel mode (kept on the assignment: ETA, GeoJSON line, metres, mode), the run
card's required set of an incident, how many of it are still missing, and the warning raised when an
incident closes with fewer units on scene than its run card required."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from jingwu.dispatch.geo import Geo
from jingwu.dispatch.rows import AssignmentRow, IncidentRow
from jingwu.dispatch.services.common import Catalogue, load_incident
from jingwu.dispatch.services.recommend import unit_travel_mode
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.org_store import UnitRow
from jingwu.routing.domain import RoutingError


@dataclass(frozen=True)
class PlannedRoute:
    """The route a unit is sent on, computed read-only before the dispatch is written."""

    eta_seconds: float
    metres: float
    travel_mode: str
    geojson: str  # GeoJSON LineString text


def plan_route(geo: Geo, inc: IncidentRow, u: UnitRow) -> PlannedRoute | None:
    """From the unit's position (else its station, as the recommendation does) to the incident, on the
    unit's own travel mode's graph; None when either end is off that network or no route exists."""
    if inc.snapped_lon is None or inc.snapped_lat is None:
        return None
    mode = unit_travel_mode(u)
    start = geo.snap_cached(u.lon, u.lat, mode) if u.lon is not None and u.lat is not None else None
    if start is None:
        home = geo.station_points.get(u.agency_id, (u.home_lon, u.home_lat))
        start = geo.snap_cached(home[0], home[1], mode)
    end = geo.snap_cached(inc.snapped_lon, inc.snapped_lat, mode)
    if start is None or end is None:
        return None
    try:
        r = geo.graph_for(mode).route(start, end)
    except RoutingError:
        return None
    return PlannedRoute(float(r.seconds), float(r.meters), mode, json.dumps(r.geometry, separators=(",", ":")))


def plan_for(p: Principal, incident_id: str, unit_id: str, *, uow: DispatchUnitOfWork, geo: Geo, cat: Catalogue
             ) -> tuple[PlannedRoute | None, dict[str, int]]:
    """Read-only, before a one-click dispatch: the unit's route and the incident's required set."""
    with uow:
        inc = load_incident(uow, p, incident_id, Permission.DISPATCH)
        u = uow.units.get(unit_id)
    return plan_route(geo, inc, u), required_set(inc, geo, cat)[0]


def required_set(inc: IncidentRow, geo: Geo, cat: Catalogue) -> tuple[dict[str, int], str]:
    """The run card's unit kinds and counts for the incident, and the rule that decided."""
    town_code = geo.town_code(inc.town_id) if inc.town_id else None
    return cat.run_cards.requirement(inc.type_code, town_code, inc.received_at.astimezone(cat.timezone).time())


def counted(a: AssignmentRow) -> bool:
    """An assignment that counts towards the set: still out, or arrived (not stood down before arrival)."""
    return a.cancelled_at is None and (a.active or a.on_scene_at is not None)


def missing(need: dict[str, int], asgs: Sequence[AssignmentRow], kind_of: dict[str, str]) -> dict[str, int]:
    """Per unit kind, how many of the required set are not yet sent (units counted once)."""
    have = Counter(kind_of[u] for u in {a.unit_id for a in asgs if counted(a)})
    return {k: n - have[k] for k, n in need.items() if have[k] < n}


def warn_if_closed_short(uow: DispatchUnitOfWork, inc: IncidentRow, now: datetime, actor: str) -> None:
    """The incident just closed: when fewer units arrived on scene than the required set recorded at its
    dispatch, add a ``closed_short`` timeline event and raise a board alert (arrived vs required)."""
    if inc.handling:
        return  # handled without units by design
    required: dict[str, int] = {}
    for e in uow.incidents.timeline(inc.id):
        if e["kind"] == "dispatched" and e["detail"].get("required"):
            required = {str(k): int(v) for k, v in e["detail"]["required"].items()}
    if not required:
        return
    arrived_units = {a.unit_id for a in uow.assignments.for_incident(inc.id) if a.on_scene_at is not None}
    arrived = Counter(uow.units.get(u).kind for u in arrived_units)
    short = {k: n - arrived[k] for k, n in required.items() if arrived[k] < n}
    if not short:
        return
    required_n = sum(required.values())
    arrived_n = sum(min(arrived[k], n) for k, n in required.items())
    detail = {"required": required, "arrived": dict(arrived), "short": short, "required_n": required_n,
              "arrived_n": arrived_n}
    uow.incidents.add_event(inc.id, at=now, kind="closed_short", actor=actor, detail=detail)
    uow.alerts.raise_once(kind="closed_short", agency_id=inc.agency_id, incident_id=inc.id, at=now, detail=detail,
                          message=f"结案时到场 {arrived_n} / 应到 {required_n} 个警力单位")
