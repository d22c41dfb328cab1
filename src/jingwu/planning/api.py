"""Planning API: coverage, hot spots and event rings for planners (permission ``analyse``). Nothing is
stored; the answers hold places and aggregates only."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends

from jingwu.planning.hotspots import Incident, hotspots, parse_window
from jingwu.planning.inputs import read_incidents
from jingwu.planning.rings import RingPolicy, check_request, event_rings
from jingwu.planning.schemas import CoverageIn, EventIn, HotspotsIn
from jingwu.planning.services.coverage import CoverageRequest, plan_coverage
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.http import ERROR_RESPONSES, ContainerDep, requires
from jingwu.routing.api import ROAD_GRAPH, ROAD_GRAPHS

router = APIRouter(prefix="/api/v1/planning", tags=["planning"], responses=ERROR_RESPONSES)
Planner = Annotated[Principal, Depends(requires(Permission.ANALYSE))]


@router.post("/coverage")
def coverage(body: CoverageIn, p: Planner, c: ContainerDep) -> dict[str, Any]:
    """Choose K sites among the candidates to maximise the demand weight reached within T (MCLP)."""
    req = CoverageRequest(demand_csv=body.demand_csv, sites_csv=body.sites_csv, costs_csv=body.costs_csv, k=body.k,
                          within=body.within, method=body.method, backup=body.backup, metric=body.metric,
                          time_limit=body.time_limit)
    return plan_coverage(req, graph=lambda: c.get(ROAD_GRAPH))


@router.post("/hotspots")
def hot_spots(body: HotspotsIn, p: Planner, c: ContainerDep) -> dict[str, Any]:
    """Kernel density and Gi* hot spots (BH FDR) of the incidents in the chosen hours of the week."""
    tz = c.settings.timezone
    window = parse_window(body.days, body.hours)
    rows = read_incidents(body.incidents_csv, tz)
    res = hotspots([Incident(x, y, at) for x, y, at in rows], ZoneInfo(tz), window=window, cell_m=body.cell_m,
                   bandwidth_m=body.bandwidth_m, band_m=body.band_m)
    gj = res.geojson()
    gj["features"] = [f for f in gj["features"]
                      if f["properties"]["count"] > 0 or f["properties"]["class"] != "none"
                      or f["properties"]["density_km2"] > 0]
    return {"summary": res.summary() | {"days": body.days, "hours": body.hours, "timezone": tz},
            "cells": gj, "hour_of_week": res.hour_counts}


@router.post("/event")
def event(body: EventIn, p: Planner, c: ContainerDep) -> dict[str, Any]:
    """The diversion, control and core rings around a venue with posts, officers and units."""
    policy = RingPolicy(core_walk_min=body.core_min, control_walk_min=body.control_min,
                        diversion_drive_min=body.diversion_min)
    check_request(body.lon, body.lat, body.crowd, policy)
    graphs = c.get(ROAD_GRAPHS)
    return event_rings(graphs("foot"), graphs("car"), body.lon, body.lat, body.crowd, policy, name=body.name)
