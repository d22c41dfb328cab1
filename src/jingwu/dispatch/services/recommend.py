"""Unit recommendation: units ranked by ETA from their latest position, each on the road graph of its
own travel mode (a foot patrol walks, a car drives), filtered by availability and the run card, each with
the reasons a dispatcher reads; the route from a unit to an incident in the unit's travel mode."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from jingwu.dispatch.domain import STALE_POSITION, LocationStatus, UnitStatus
from jingwu.dispatch.geo import Geo
from jingwu.dispatch.rows import IncidentRow
from jingwu.dispatch.services.common import Catalogue, load_incident
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.domain import Permission, Principal, travel_mode_of
from jingwu.platform.errors import Conflict, InvalidInput
from jingwu.platform.org_store import UnitRow
from jingwu.routing.ranking import rank_units


@dataclass(frozen=True)
class Recommendation:
    unit: UnitRow
    eta_seconds: float | None
    position_source: str  # live / stale / station
    matches_run_card: bool
    reasons: list[str]
    travel_mode: str = "car"
    in_scope: bool = True  # the caller may dispatch it (its agency lies in the caller's subtree)


def unit_travel_mode(u: UnitRow) -> str:
    """car, motorbike, foot or bicycle: the unit's own travel mode, else the default of its kind."""
    return travel_mode_of(u.kind, getattr(u, "travel_mode", None))


def recommend(p: Principal, incident_id: str, *, uow: DispatchUnitOfWork, geo: Geo, cat: Catalogue,
              limit: int = 10, include_busy: bool = False, include_handled: bool = False
              ) -> tuple[IncidentRow, dict[str, int], str, list[Recommendation]]:
    """Ranked units; none (rule "withheld") for a call handled without units unless ``include_handled``."""
    with uow:
        inc = load_incident(uow, p, incident_id, Permission.DISPATCH)
        units = uow.units.in_subtree("/" + inc.agency_path.strip("/").split("/")[0] + "/")
    if inc.handling and not include_handled:
        return inc, {}, "withheld", []
    town_code = geo.town_code(inc.town_id) if inc.town_id else None
    if inc.location_status == LocationStatus.OUTSIDE_AREA.value:
        raise Conflict("The call is outside the served area: set its location on the map if it is inside after "
                       "all, or transfer it to the neighbouring agency.", code="outside_area")
    if inc.snapped_lon is None or inc.snapped_lat is None:
        raise InvalidInput("The incident has no location yet: send an SMS location link or enter coordinates.",
                           code="missing_location")
    local = inc.received_at.astimezone(cat.timezone).time()
    need, rule = cat.run_cards.requirement(inc.type_code, town_code, local)
    target = geo.snap(inc.snapped_lon, inc.snapped_lat)
    now = uow.clock.now()
    available = UnitStatus.AVAILABLE.value
    cands: list[tuple[UnitRow, str, Any, str]] = []
    for u in units:
        if not u.active:  # deactivated by an administrator: never recommended
            continue
        if u.status != available and not include_busy:
            continue
        mode = unit_travel_mode(u)  # the unit is placed on, and timed over, its own mode's network
        if u.lon is not None and u.lat is not None and u.position_at is not None:
            src = "live" if now - u.position_at <= STALE_POSITION else "stale"
            s = geo.snap_cached(u.lon, u.lat, mode)
        else:
            src, s = "station", None
        if s is None:
            home = geo.station_points.get(u.agency_id, (u.home_lon, u.home_lat))
            s = geo.snap_cached(home[0], home[1], mode)
            src = "station"
        if s is not None:
            cands.append((u, src, s, mode))
    # one many-to-one search per travel mode present, on that mode's graph, to the incident placed on it
    secs = np.full(len(cands), math.inf)
    by_mode: dict[str, list[int]] = {}
    for i, cand in enumerate(cands):
        by_mode.setdefault(cand[3], []).append(i)
    for mode, idx in by_mode.items():
        t = target if mode == "car" else geo.snap_cached(inc.snapped_lon, inc.snapped_lat, mode)
        if t is not None:
            secs[idx] = geo.etas([cands[i][2] for i in idx], t, mode)
    # rank all candidates, then explain only the ones returned
    # units the caller may dispatch rank first; the others are listed (marked) so that a branch sees the
    # nearer unit another branch could send and can ask the command centre for it
    order = rank_units(secs, available=[c[0].status == available for c in cands],
                       in_scope=[p.in_scope(c[0].agency_path) for c in cands],
                       matches=[need.get(c[0].kind, 0) > 0 for c in cands])
    ranked = [(cands[i][0], cands[i][1], float(secs[i]), need.get(cands[i][0].kind, 0) > 0, cands[i][3])
              for i in order.tolist()]
    recs: list[Recommendation] = []
    for u, src, eta, matches, mode in ranked[:limit]:
        eta_v = eta if math.isfinite(eta) else None
        reasons = [f"{mode} ETA {int(eta // 60)} min {int(eta % 60)} s" if eta_v is not None else f"no {mode} route"]
        if src == "stale":
            age = int((now - u.position_at).total_seconds() // 60) if u.position_at else 0
            reasons.append(f"stale position ({age} min old): ETA from last known position")
        elif src == "station":
            reasons.append("no usable position: ETA from its station")
        reasons.append(f"{u.kind} required by run card ({rule})" if matches else f"{u.kind} not on the run card")
        if u.agency_id == inc.agency_id:
            reasons.append("own jurisdiction")
        if u.status != available:
            reasons.append(f"busy: {u.status}")
        mine = p.in_scope(u.agency_path)
        if not mine:
            reasons.append("outside your agency")
        recs.append(Recommendation(u, eta_v, src, matches, reasons, mode, in_scope=mine))
    return inc, need, rule, recs



def unit_route(p: Principal, incident_id: str, unit_id: str, *, uow: DispatchUnitOfWork, geo: Geo
               ) -> dict[str, Any]:
    """Route from a unit's position to the incident in the unit's travel mode (GeoJSON LineString, seconds,
    metres, travel_mode)."""
    with uow:
        inc = load_incident(uow, p, incident_id, Permission.READ_ORG)
        u = uow.units.get(unit_id)
    p.require(Permission.READ_ORG, u.agency_path)
    if inc.snapped_lon is None or inc.snapped_lat is None or u.lon is None or u.lat is None:
        raise InvalidInput("Unit or incident has no position.", code="missing_location")
    mode = unit_travel_mode(u)
    return geo.route_geojson(geo.snap(u.lon, u.lat, mode), geo.snap(inc.snapped_lon, inc.snapped_lat, mode), mode)
