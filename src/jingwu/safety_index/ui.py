"""Safety Index pages: the public page (no login) with the map of towns coloured
by band, the day's ranking, any past date and a trend chart per town; the
module link leads there (data from the public API). And the
supervision page for analysts: tickets of their scope with assign / action /
close (through the API) and the period assessment.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from jingwu.platform.domain import Permission
from jingwu.platform.http import ContainerDep
from jingwu.safety_index import views
from jingwu.safety_index.domain import BAND_THRESHOLDS, SUB_INDICES
from jingwu.web.ui import OptionalPrincipal, _ctx, _login_redirect, templates

router = APIRouter(include_in_schema=False)


@router.get("/safety-index", response_class=HTMLResponse)
def public_page(request: Request, p: OptionalPrincipal, c: ContainerDep,
                day: Annotated[str | None, Query(alias="date")] = None) -> Response:
    first, last = views.public_dates(uow=c.uow())
    chosen = last
    if day:
        try:
            chosen = date.fromisoformat(day)
        except ValueError:
            chosen = last
    bands = [(b.value, lo) for b, lo in BAND_THRESHOLDS]
    return templates.TemplateResponse(request, "safety_index/public.html", _ctx(
        request, p, active="safety-index", first=first, last=last, chosen=chosen, bands=bands,
        subs=[s.value for s in SUB_INDICES], demo=c.settings.demo_mode))


@router.get("/safety-index/supervision", response_class=HTMLResponse)
def supervision_page(request: Request, p: OptionalPrincipal, c: ContainerDep,
                     status: Annotated[str | None, Query()] = None) -> Response:
    if p is None:
        return _login_redirect(request)
    if not p.can(Permission.ANALYSE):
        return templates.TemplateResponse(request, "forbidden.html", _ctx(request, p, active="safety-index"),
                                          status_code=403)
    board = views.supervision_board(status or None, principal=p, uow=c.uow())
    return templates.TemplateResponse(request, "safety_index/supervision.html", _ctx(
        request, p, active="safety-index", rows=board.rows, status=status or "", first=board.first,
        last=board.last))
