"""The planner's page (coverage, hot spots, event rings on the map) and the printable event plan."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from jingwu.planning.printout import render
from jingwu.planning.rings import RingPolicy, check_request, event_rings
from jingwu.platform.domain import Permission
from jingwu.platform.errors import AppError
from jingwu.platform.http import ContainerDep
from jingwu.routing.api import ROAD_GRAPHS
from jingwu.web.i18n import pick_lang, translate
from jingwu.web.ui import OptionalPrincipal, _ctx, _login_redirect, templates

router = APIRouter(include_in_schema=False)
I18N_KEYS = ("pl_chosen", "pl_covered", "pl_optimal", "pl_gap", "pl_seconds", "pl_covered_twice", "pl_uncovered",
             "pl_hot", "pl_cold", "pl_incidents_n", "pl_cells", "pl_bandwidth", "pl_fdr", "pl_density", "pl_gi",
             "pl_ring_core", "pl_ring_control", "pl_ring_diversion", "pl_posts", "pl_officers", "pl_units",
             "pl_minutes", "pl_unit_foot", "pl_unit_car", "pl_unit_motorbike", "pl_unit_video", "pl_total",
             "pl_working", "osm_attribution")


@router.get("/planning", response_class=HTMLResponse)
def planning_page(request: Request, p: OptionalPrincipal) -> Response:
    if p is None:
        return _login_redirect(request)
    if not p.can(Permission.ANALYSE):
        return templates.TemplateResponse(request, "forbidden.html", _ctx(request, p, active="planning"),
                                          status_code=403)
    lang = pick_lang(request.query_params.get("lang"), request.cookies.get("lang"))
    i18n = {k.removeprefix("pl_"): translate(lang, k) for k in I18N_KEYS} | {"lang": lang}
    return templates.TemplateResponse(request, "planning/planner.html", _ctx(request, p, active="planning",
                                                                              i18n=i18n))


@router.get("/planning/event/print", response_class=HTMLResponse)
def event_print(request: Request, p: OptionalPrincipal, c: ContainerDep,
                lon: Annotated[float, Query()], lat: Annotated[float, Query()], crowd: Annotated[int, Query()],
                name: Annotated[str, Query(max_length=200)] = "") -> Response:
    if p is None:
        return _login_redirect(request)
    if not p.can(Permission.ANALYSE):
        return templates.TemplateResponse(request, "forbidden.html", _ctx(request, p, active="planning"),
                                          status_code=403)
    lang = pick_lang(request.query_params.get("lang"), request.cookies.get("lang"))
    try:
        policy = RingPolicy()
        check_request(lon, lat, crowd, policy)
        graphs = c.get(ROAD_GRAPHS)
        plan = event_rings(graphs("foot"), graphs("car"), lon, lat, crowd, policy, name=name)
    except AppError as exc:
        return HTMLResponse(f"<!doctype html><meta charset='utf-8'><p>{escape(exc.code)}: {escape(exc.message)}</p>",
                            status_code=exc.status)
    return HTMLResponse(render(plan, graphs("car"), lang))
