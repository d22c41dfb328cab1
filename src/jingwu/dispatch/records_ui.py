"""The incidents module's pages (警情): /incidents, the list with its filters, search, paging and CSV export
link; /incidents/{id}, one incident's whole record on a timeline. Server-rendered (ADR 0002) from the same
services as the API; times in the deployment's zone with the zone shown (the ``localtime`` filter)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from jingwu.dispatch.domain import IncidentStatus
from jingwu.dispatch.records_store import FLAGS
from jingwu.dispatch.services import records as records_svc
from jingwu.dispatch.ui import _perms
from jingwu.dispatch.wiring import catalogue, dispatch_read_uow, dispatch_uow
from jingwu.platform.domain import Principal
from jingwu.platform.errors import AppError
from jingwu.web.ui import OptionalPrincipal, _ctx, _login_redirect, templates

router = APIRouter(include_in_schema=False)

FILTER_KEYS = ("since", "until", "type_code", "priority", "status", "station", "flag", "q")


def _day(value: str | None, tz: Any, end: bool = False) -> datetime | None:
    """A date field (YYYY-MM-DD, local day) as the instant its day starts (``end``: the next day's start)."""
    if not value:
        return None
    try:
        d = datetime.fromisoformat(value)
    except ValueError:
        return datetime(1, 1, 1, tzinfo=tz)  # refused by the service as invalid_range
    if d.tzinfo is None:
        d = datetime.combine(d.date(), time(0), tzinfo=tz) if len(value) <= 10 else d.replace(tzinfo=tz)
        if end and len(value) <= 10:
            d += timedelta(days=1)
    return d


def _iso(d: datetime | None) -> str:
    return d.isoformat() if d else ""


def _page(request: Request, p: Principal, template: str, **extra: Any) -> Response:
    ctx = _ctx(request, p, active="incidents", perms=_perms(p), statuses=[s.value for s in IncidentStatus], **extra)
    return templates.TemplateResponse(request, template, ctx, status_code=extra.get("status_code", 200))


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(request: Request, p: OptionalPrincipal) -> Response:
    """The list: filters (time range, type, priority, status, station, flags), search, paging, export."""
    if p is None:
        return _login_redirect(request)
    c = request.app.state.container
    cat = catalogue(c)
    qp = request.query_params
    form = {k: qp.get(k, "") for k in FILTER_KEYS}
    try:
        page = max(1, int(qp.get("page", "1") or 1))
    except ValueError:
        page = 1
    lq = records_svc.ListQuery(
        since=_day(form["since"], cat.timezone), until=_day(form["until"], cat.timezone, end=True),
        types=tuple(x for x in qp.getlist("type_code") if x), statuses=tuple(x for x in qp.getlist("status") if x),
        priorities=tuple(int(x) for x in qp.getlist("priority") if x.isdigit()),
        station_id=form["station"] or None, flags=tuple(x for x in qp.getlist("flag") if x), q=form["q"] or None)
    error, data = None, {"total": 0, "page": 1, "pages": 1, "per_page": 50, "items": []}
    try:
        data = records_svc.list_incidents(p, lq, uow=dispatch_read_uow(c), cat=cat, page=page, per_page=50)
    except AppError as exc:
        error = f"{exc.message} ({exc.code})"
    with c.uow() as uow:
        stations = uow.agencies.in_subtree(p.agency_path)
    kept = [(k, v) for k, v in qp.multi_items() if k in FILTER_KEYS and v]
    types = sorted(cat.types.types.values(), key=lambda t: t.code)
    return _page(request, p, "dispatch/incidents.html", data=data, form=form, error=error, stations=stations,
                 types=types, flags=FLAGS, chosen={k: set(qp.getlist(k)) for k in ("type_code", "priority",
                                                                                  "status", "flag")},
                 query=urlencode(kept), export_url="/api/v1/incidents/export.csv?" + urlencode(
                     [(k, _iso(_day(v, cat.timezone, end=k == "until")) if k in ("since", "until") else v)
                      for k, v in kept]))


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(incident_id: str, request: Request, p: OptionalPrincipal) -> Response:
    """One incident's whole record on a timeline; the callers' data on request with a reason (audited)."""
    if p is None:
        return _login_redirect(request)
    c = request.app.state.container
    personal = request.query_params.get("personal") == "1"
    reason = (request.query_params.get("reason") or "").strip()[:400] or None
    try:
        UUID(incident_id)
        rec = records_svc.record(p, incident_id, uow=dispatch_uow(c) if personal else dispatch_read_uow(c),
                                 cat=catalogue(c), with_personal=personal, reason=reason)
    except (AppError, ValueError) as exc:
        status = getattr(exc, "status", 404)
        msg = getattr(exc, "message", "Not found.")
        return _page(request, p, "dispatch/incident.html", rec=None, error=msg, status_code=status)
    return _page(request, p, "dispatch/incident.html", rec=rec, error=None)
