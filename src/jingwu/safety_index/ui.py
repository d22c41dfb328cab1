"""Safety Index pages: the public page (no login) with the map of towns coloured
by band, the day's ranking, any past date and a trend chart per town; the
module link ``/m/safety-index`` leads there. Data come from the public API.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from jingwu.platform.http import ContainerDep
from jingwu.safety_index import services
from jingwu.safety_index.domain import BAND_THRESHOLDS, SUB_INDICES
from jingwu.web.ui import OptionalPrincipal, _ctx, templates

router = APIRouter(include_in_schema=False)


@router.get("/m/safety-index")
def module_link() -> Response:
    return RedirectResponse("/safety-index", status_code=303)


@router.get("/safety-index", response_class=HTMLResponse)
def public_page(request: Request, p: OptionalPrincipal, c: ContainerDep,
                day: Annotated[str | None, Query(alias="date")] = None) -> Response:
    first, last = services.public_dates(uow=c.uow())
    chosen = last
    if day:
        try:
            chosen = date.fromisoformat(day)
        except ValueError:
            chosen = last
    bands = [(b.value, lo) for b, lo in BAND_THRESHOLDS]
    return templates.TemplateResponse(request, "safety_index/public.html", _ctx(
        request, p, active="safety-index", first=first, last=last, chosen=chosen, bands=bands,
        subs=[s.value for s in SUB_INDICES]))
