"""Dispatch pages: the live board, the mobile unit view, KPIs, and the public
location-sharing page of the SMS link.

The pages are thin shells: the data come from the dispatch API (cookie session;
writes carry the ``X-Jingwu-CSRF: 1`` header). Texts for the scripts are the
``dsp_*`` keys of the translation catalogue, handed over as one JSON object.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from jingwu.platform.domain import Permission, Principal
from jingwu.web.i18n import DEFAULT_LANG, catalog, pick_lang
from jingwu.web.ui import OptionalPrincipal, _ctx, _login_redirect, templates

router = APIRouter(include_in_schema=False)


def js_texts(request: Request) -> dict[str, str]:
    """Every ``dsp_*`` text in the page language (falling back to Chinese) for the page scripts."""
    lang = pick_lang(request.query_params.get("lang"), request.cookies.get("lang"))
    base = {k: v for k, v in catalog(DEFAULT_LANG).items() if k.startswith("dsp_")}
    base.update({k: v for k, v in catalog(lang).items() if k.startswith("dsp_")})
    base["lang"] = lang
    return base


def _perms(p: Principal) -> dict[str, bool]:
    return {"take_calls": p.can(Permission.TAKE_CALLS), "dispatch": p.can(Permission.DISPATCH),
            "report_status": p.can(Permission.REPORT_STATUS) or p.can(Permission.DISPATCH),
            "personal": any(p.can(x) for x in (Permission.TAKE_CALLS, Permission.DISPATCH, Permission.COMMAND)),
            "kpis": p.can(Permission.DISPATCH) or p.can(Permission.ANALYSE)}


def _page(request: Request, p: Principal, template: str, tab: str, **extra: Any) -> Response:
    ctx = _ctx(request, p, active="dispatch", tab=tab, js=js_texts(request), perms=_perms(p), **extra)
    return templates.TemplateResponse(request, template, ctx)


@router.get("/dispatch", response_class=HTMLResponse)
def board_page(request: Request, p: OptionalPrincipal) -> Response:
    """The live board: queue, map, selected incident with recommendations, alerts, intake form."""
    if p is None:
        return _login_redirect(request)
    return _page(request, p, "dispatch/board.html", "board")


@router.get("/unit", response_class=HTMLResponse)
def unit_page(request: Request, p: OptionalPrincipal) -> Response:
    """The mobile unit view: the current order, status buttons, the route, position reporting."""
    if p is None:
        return _login_redirect(request)
    return _page(request, p, "dispatch/unit.html", "unit")


@router.get("/kpis", response_class=HTMLResponse)
def kpis_page(request: Request, p: OptionalPrincipal) -> Response:
    """Response-time KPIs by type, priority, station and hour, and the unit ranking."""
    if p is None:
        return _login_redirect(request)
    return _page(request, p, "dispatch/kpis.html", "kpis")


@router.get("/l/{token}", response_class=HTMLResponse)
def location_link_page(token: str, request: Request) -> Response:
    """The public page behind the SMS link (no login): one button sends the caller's position."""
    ctx = _ctx(request, None, js=js_texts(request), token=token)
    resp = templates.TemplateResponse(request, "dispatch/link.html", ctx)
    resp.headers["Referrer-Policy"] = "same-origin"  # the token must not leak to other sites
    resp.headers["Cache-Control"] = "no-store"
    return resp
