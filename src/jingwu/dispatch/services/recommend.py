"""Unit recommendation: units ranked by road ETA from their latest position, filtered by
availability and the run card, each with the reasons a dispatcher reads; the road route from a unit to an
incident."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from jingwu.dispatch.domain import STALE_POSITION, UnitStatus
from jingwu.dispatch.geo import Geo
from jingwu.dispatch.rows import IncidentRow
from jingwu.dispatch.services.common import Catalogue, load_incident
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import InvalidInput
from jingwu.platform.org_store import UnitRow


@dataclass(frozen=True)
class Recommendation:
    unit: UnitRow
    eta_seconds: float | None
    position_source: str  # live / stale / station
    matches_run_card: bool
    reasons: list[str]


def recommend(p: Principal, incident_id: str, *, uow: DispatchUnitOfWork, geo: Geo, cat: Catalogue,
              limit: int = 10, include_busy: bool = False) -> tuple[IncidentRow, dict[str, int], str,
                                                                    list[Recommendation]]:
    with uow:
        inc = load_incident(uow, p, incident_id, Permission.DISPATCH)
        units = uow.units.in_subtree("/" + inc.agency_path.strip("/").split("/")[0] + "/")
    town_code = geo.town_code(inc.town_id) if inc.town_id else None
    if inc.snapped_lon is None or inc.snapped_lat is None:
        raise InvalidInput("The incident has no location yet: send an SMS location link or enter coordinates.",
                           code="missing_location")
    local = inc.received_at.astimezone(cat.timezone).time()
    need, rule = cat.run_cards.requirement(inc.type_code, town_code, local)
    target = geo.snap(inc.snapped_lon, inc.snapped_lat)
    now = uow.clock.now()
    available = UnitStatus.AVAILABLE.value
    cands: list[tuple[UnitRow, str, Any]] = []
    for u in units:
        if not u.active:  # deactivated by an administrator: never recommended
            continue
        if u.status != available and not include_busy:
            continue
        if u.lon is not None and u.lat is not None and u.position_at is not None:
            src = "live" if now - u.position_at <= STALE_POSITION else "stale"
            s = geo.snap_cached(u.lon, u.lat)
        else:
            src, s = "station", None
        if s is None:
            home = geo.station_points.get(u.agency_id, (u.home_lon, u.home_lat))
            s = geo.snap_cached(home[0], home[1])
            src = "station"
        if s is not None:
            cands.append((u, src, s))
    secs = geo.etas([c[2] for c in cands], target)
    # rank all candidates, then explain only the ones returned
    ranked = sorted(((u, src, float(eta), need.get(u.kind, 0) > 0)
                     for (u, src, _s), eta in zip(cands, secs, strict=True)),
                    key=lambda x: (x[0].status != available, not x[3], x[2]))
    recs: list[Recommendation] = []
    for u, src, eta, matches in ranked[:limit]:
        eta_v = eta if math.isfinite(eta) else None
        reasons = [f"road ETA {int(eta // 60)} min {int(eta % 60)} s" if eta_v is not None else "no road route"]
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
        recs.append(Recommendation(u, eta_v, src, matches, reasons))
    return inc, need, rule, recs



def unit_route(p: Principal, incident_id: str, unit_id: str, *, uow: DispatchUnitOfWork, geo: Geo
               ) -> dict[str, Any]:
    """Road route from a unit's position to the incident (GeoJSON LineString, seconds, metres)."""
    with uow:
        inc = load_incident(uow, p, incident_id, Permission.READ_ORG)
        u = uow.units.get(unit_id)
    p.require(Permission.READ_ORG, u.agency_path)
    if inc.snapped_lon is None or inc.snapped_lat is None or u.lon is None or u.lat is None:
        raise InvalidInput("Unit or incident has no position.", code="missing_location")
    return geo.route_geojson(geo.snap(u.lon, u.lat), geo.snap(inc.snapped_lon, inc.snapped_lat))
