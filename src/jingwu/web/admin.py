"""Organisation administration pages under ``/admin``: tabs for agencies (the tree), stations (with a map
of the station and its jurisdiction), towns (boundary upload, drawn on a map), units, users, and alarm
devices (that tab is dispatch's, ``dispatch/admin_api.py``, on this layout).

Thin shells: the data come from ``/api/v1/admin/...`` through fetch (cookie session, writes with the
``X-Jingwu-CSRF`` header); a failed write shows the API's error message. Texts for the script are the
``adm_*`` keys of the translation catalogue. Positions far from the served road network are warned about
here (the web layer may read routing's road graph; the platform API below it may not)."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from jingwu.platform.container import Container
from jingwu.platform.domain import ROLE_LABELS_ZH, AgencyKind, Permission, Principal, Role, TravelMode, UnitKind
from jingwu.platform.http import ContainerDep
from jingwu.routing.api import ROAD_GRAPH
from jingwu.routing.domain import RoutingError
from jingwu.web.i18n import DEFAULT_LANG, catalog, pick_lang
from jingwu.web.ui import OptionalPrincipal, _ctx, _login_redirect, templates

router = APIRouter(include_in_schema=False)

TABS = ("agencies", "stations", "towns", "units", "users", "devices")
FAR_FROM_NETWORK_M = 1000.0  # a position farther than this from every road is warned about


def may_administer(p: Principal) -> bool:
    return p.can(Permission.MANAGE_ORG) or p.can(Permission.MANAGE_USERS)


def js_texts(request: Request) -> dict[str, Any]:
    """Every ``adm_*`` text in the page language (falling back to Chinese), and the choice lists."""
    lang = pick_lang(request.query_params.get("lang"), request.cookies.get("lang"))
    out: dict[str, Any] = {k: v for k, v in catalog(DEFAULT_LANG).items() if k.startswith("adm_")}
    out.update({k: v for k, v in catalog(lang).items() if k.startswith("adm_")})
    out["lang"] = lang
    out["roles"] = [[r.value, ROLE_LABELS_ZH[r] if lang == "zh-CN" else r.value.replace("_", " ")] for r in Role]
    out["unit_kinds"] = [k.value for k in UnitKind]
    out["agency_kinds"] = [k.value for k in AgencyKind]
    out["travel_modes"] = [m.value for m in TravelMode]
    return out


def _bbox(c: Container) -> list[float] | None:
    try:
        return list(c.get(ROAD_GRAPH).bbox)
    except Exception:  # no road graph served yet: the pages work without the warning
        return None


def admin_page(request: Request, p: Principal | None, c: Container, tab: str, template: str) -> Response:
    """One tab of the admin pages (used by dispatch's devices tab too)."""
    if p is None:
        return _login_redirect(request)
    need = Permission.MANAGE_USERS if tab == "users" else Permission.MANAGE_ORG
    if not p.can(need):
        return templates.TemplateResponse(request, "forbidden.html", _ctx(request, p, active="admin"),
                                          status_code=403)
    ctx = _ctx(request, p, active="admin", tab=tab, js=js_texts(request), bbox=_bbox(c),
               perms={"org": p.can(Permission.MANAGE_ORG), "users": p.can(Permission.MANAGE_USERS)})
    return templates.TemplateResponse(request, template, ctx)


@router.get("/admin")
def admin_home(request: Request, p: OptionalPrincipal) -> Response:
    if p is None:
        return _login_redirect(request)
    first = "agencies" if p.can(Permission.MANAGE_ORG) else "users"
    return RedirectResponse(f"/admin/{first}", status_code=303)


@router.get("/admin/position-check")
def position_check(request: Request, p: OptionalPrincipal, c: ContainerDep, lon: float, lat: float) -> Response:
    """How far a position is from the served road network: {on_network, distance_m, far}."""
    if p is None or not may_administer(p):
        return JSONResponse({"error": {"code": "forbidden", "message": "administrators only"}}, status_code=403)
    try:
        g = c.get(ROAD_GRAPH)
    except Exception:
        return JSONResponse({"on_network": None, "distance_m": None, "far": False})
    try:
        s = g.snap(lon, lat, 50_000.0)
    except RoutingError:
        return JSONResponse({"on_network": False, "distance_m": None, "far": True})
    d = _metres(lon, lat, s.snapped_lon, s.snapped_lat)
    return JSONResponse({"on_network": d <= FAR_FROM_NETWORK_M, "distance_m": round(d, 1),
                         "far": d > FAR_FROM_NETWORK_M})


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def _tab_route(tab: str) -> None:
    def page(request: Request, p: OptionalPrincipal, c: ContainerDep) -> Response:
        return admin_page(request, p, c, tab, f"admin/{tab}.html")

    router.add_api_route(f"/admin/{tab}", page, methods=["GET"], response_class=HTMLResponse, name=f"admin_{tab}")


for _tab in TABS[:-1]:  # devices: dispatch's page
    _tab_route(_tab)
