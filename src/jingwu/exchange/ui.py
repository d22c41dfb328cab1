"""Exchange pages (Chinese by default, English with ?lang=en): agreements with their terms, approvals and the
records received; cooperation requests with their deadlines and actions; the compliance report of coercive
measures (superior approval, 12-hour notices). Actions go through the API (static/js/exchange.js)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from jingwu.exchange.domain import RECORD_FIELDS
from jingwu.exchange.services import agreements, measures, requests
from jingwu.exchange.services.bulletin import bars, bulletin
from jingwu.platform.errors import Forbidden, InvalidInput
from jingwu.platform.http import ContainerDep
from jingwu.web.ui import OptionalPrincipal, _ctx, _login_redirect, templates

router = APIRouter(include_in_schema=False)


def _page(request: Request, p: Any, c: ContainerDep, template: str, tab: str,
          load: Callable[[], dict[str, Any]]) -> Response:
    if p is None:
        return _login_redirect(request)
    try:
        data = load()
    except Forbidden:
        return templates.TemplateResponse(request, "forbidden.html", _ctx(request, p, active="exchange"),
                                          status_code=403)
    with c.read_uow() as uow:
        names = {a.id: a.name for a in uow.agencies.in_subtree("/")}
    return templates.TemplateResponse(request, template, _ctx(request, p, active="exchange", tab=tab,
                                                              now=c.clock.now(), agencies=names, **data))


@router.get("/exchange", response_class=HTMLResponse)
def agreements_page(request: Request, p: OptionalPrincipal, c: ContainerDep) -> Response:
    def load() -> dict[str, Any]:
        assert p is not None
        return {"agreements": agreements.list_agreements(principal=p, uow=c.uow()),
                "shares": agreements.list_shares(principal=p, uow=c.uow(), received_only=True)[:50]}
    return _page(request, p, c, "exchange/agreements.html", "agreements", load)


@router.get("/exchange/requests", response_class=HTMLResponse)
def requests_page(request: Request, p: OptionalPrincipal, c: ContainerDep) -> Response:
    def load() -> dict[str, Any]:
        assert p is not None
        rows = requests.list_requests(principal=p, uow=c.uow())
        events = {q.id: requests.get_request(q.id, principal=p, uow=c.uow()).events for q in rows[:100]}
        return {"rows": rows, "events": events}
    return _page(request, p, c, "exchange/requests.html", "requests", load)


@router.get("/exchange/compliance", response_class=HTMLResponse)
def compliance_page(request: Request, p: OptionalPrincipal, c: ContainerDep) -> Response:
    def load() -> dict[str, Any]:
        assert p is not None
        rows, totals = measures.compliance(principal=p, uow=c.uow())
        return {"rows": rows, "totals": totals}
    return _page(request, p, c, "exchange/compliance.html", "compliance", load)


@router.get("/exchange/bulletin", response_class=HTMLResponse)
def bulletin_page(request: Request, p: OptionalPrincipal, c: ContainerDep, month: str | None = Query(None)) -> Response:
    tz = ZoneInfo(c.settings.timezone)
    chosen = month or c.clock.now().astimezone(tz).strftime("%Y-%m")

    def load() -> dict[str, Any]:
        assert p is not None
        try:
            b = bulletin(chosen, principal=p, uow=c.uow(), tz=tz)
        except InvalidInput:
            b = bulletin(c.clock.now().astimezone(tz).strftime("%Y-%m"), principal=p, uow=c.uow(), tz=tz)
        return {"b": b, "sent_bars": bars(b.series_sent), "recv_bars": bars(b.series_received),
                "types": list(RECORD_FIELDS)}
    return _page(request, p, c, "exchange/bulletin.html", "bulletin", load)
