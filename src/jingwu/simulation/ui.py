"""The planner's simulation page (start a run, follow its progress, read the report in the page) and a run's
report as its own page (the same report as ``jingwu simulate --out``, scripts loaded from /static)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from jingwu.platform.domain import Permission
from jingwu.platform.errors import AppError
from jingwu.platform.http import ContainerDep
from jingwu.simulation import report
from jingwu.simulation.domain import POLICIES
from jingwu.simulation.runs import RUNS
from jingwu.web.ui import OptionalPrincipal, _ctx, _login_redirect, templates

router = APIRouter(include_in_schema=False)


@router.get("/simulation", response_class=HTMLResponse)
def planner_page(request: Request, p: OptionalPrincipal, c: ContainerDep) -> Response:
    if p is None:
        return _login_redirect(request)
    if not p.can(Permission.ANALYSE):
        return templates.TemplateResponse(request, "forbidden.html", _ctx(request, p, active="simulation"),
                                          status_code=403)
    ctx = _ctx(request, p, active="simulation", policies=POLICIES)
    ctx["i18n_json"] = json.dumps(report.strings(ctx["lang"]), ensure_ascii=False)
    return templates.TemplateResponse(request, "simulation/planner.html", ctx)


@router.get("/simulation/runs/{run_id}/report", response_class=HTMLResponse)
def report_page(run_id: str, request: Request, p: OptionalPrincipal, c: ContainerDep) -> Response:
    if p is None:
        return _login_redirect(request)
    if not p.can(Permission.ANALYSE):
        return templates.TemplateResponse(request, "forbidden.html", _ctx(request, p, active="simulation"),
                                          status_code=403)
    ctx = _ctx(request, p, active="simulation")
    try:
        run = c.get(RUNS).get(run_id)
    except AppError:
        run = None
    if run is None or run.result is None:
        return HTMLResponse(f"<!doctype html><meta charset=utf-8><p>{ctx['t']('sim_failed')}: {run_id}</p>",
                            status_code=404)
    return HTMLResponse(report.render(run.result, lang=ctx["lang"], inline=False))
