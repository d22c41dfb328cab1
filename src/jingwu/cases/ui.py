"""Cases pages: the investigator's and the supervisor's lists by deadline, the case file (timeline, deadlines,
parties and codes, registers, decision, incident timeline), opening a case, the rule table, the weekly
interference report, and the public lookup page (no login; data from the public API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from jingwu.cases.domain import EVENTS, STATE_LABELS, TRANSITIONS, PartyRole, State, Track
from jingwu.cases.services import lifecycle, oversight
from jingwu.cases.services.common import book
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import AppError
from jingwu.platform.http import ContainerDep
from jingwu.web.ui import OptionalPrincipal, _ctx, _login_redirect, templates

router = APIRouter(include_in_schema=False)


def _label(lang: str) -> Callable[[str], str]:
    return lambda s: STATE_LABELS[State(s)][0 if lang == "zh-CN" else 1]


def _events_for(track: str) -> list[str]:
    """The events the rules of this track read (state events excluded: they come from transitions)."""
    named: set[str] = set()
    for r in book().rules(track):
        named |= {r.event, *r.done_by, *(x.event for x in r.extensions)}
    order = dict.fromkeys([*EVENTS, *sorted(book().events())])  # the legal table's order, then other features'
    # register events come from the register actions
    return [e for e in order if e in named and not e.startswith(("case.", "property.", "account."))]


def _forbidden(request: Request, p: Principal | None, message: str | None = None, code: str | None = None,
               status: int = 403) -> Response:
    return templates.TemplateResponse(request, "cases/error.html", _ctx(request, p, active="cases", message=message,
                                                                         code=code), status_code=status)


@router.get("/case-lookup", response_class=HTMLResponse)
def public_page(request: Request, p: OptionalPrincipal) -> Response:
    return templates.TemplateResponse(request, "cases/public.html", _ctx(request, p, active="cases"))


@router.get("/cases", response_class=HTMLResponse)
def list_page(request: Request, p: OptionalPrincipal, c: ContainerDep,
              view: Annotated[str, Query(pattern="^(mine|all)$")] = "mine",
              incident: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    if p is None:
        return _login_redirect(request)
    if not (p.can(Permission.HANDLE_CASES) or p.can(Permission.REVIEW_CASES)):
        return _forbidden(request, p)
    if view == "mine" and not p.can(Permission.HANDLE_CASES):
        view = "all"
    rows = lifecycle.deadline_list(p, c=c, mine=view == "mine" and incident is None, incident_id=incident)
    ctx = _ctx(request, p, active="cases", rows=rows, view=view, incident=incident,
               can_review=p.can(Permission.REVIEW_CASES), can_handle=p.can(Permission.HANDLE_CASES))
    ctx["state_label"] = _label(ctx["lang"])
    return templates.TemplateResponse(request, "cases/list.html", ctx)


@router.get("/cases/new", response_class=HTMLResponse)
def new_page(request: Request, p: OptionalPrincipal,
             incident: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    if p is None:
        return _login_redirect(request)
    if not p.can(Permission.HANDLE_CASES):
        return _forbidden(request, p)
    return templates.TemplateResponse(request, "cases/new.html", _ctx(request, p, active="cases", incident=incident,
                                                                       tracks=[t.value for t in Track]))


@router.get("/cases/rules", response_class=HTMLResponse)
def rules_page(request: Request, p: OptionalPrincipal) -> Response:
    if p is None:
        return _login_redirect(request)
    ctx = _ctx(request, p, active="cases", rules=book().rules(), transitions=TRANSITIONS)
    ctx["state_label"] = _label(ctx["lang"])
    return templates.TemplateResponse(request, "cases/rules.html", ctx)


@router.get("/cases/interference", response_class=HTMLResponse)
def interference_page(request: Request, p: OptionalPrincipal, c: ContainerDep,
                      week: Annotated[str | None, Query(max_length=10)] = None) -> Response:
    if p is None:
        return _login_redirect(request)
    try:
        rep = oversight.interference_report(p, c=c, week=week)
    except AppError as e:
        return _forbidden(request, p, e.message, e.code, e.status)
    return templates.TemplateResponse(request, "cases/interference.html", _ctx(request, p, active="cases", rep=rep))


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(case_id: str, request: Request, p: OptionalPrincipal, c: ContainerDep,
              access_reason: Annotated[str | None, Query(max_length=1000)] = None) -> Response:
    if p is None:
        return _login_redirect(request)
    try:
        f = lifecycle.case_file(case_id, p, c=c, reason=access_reason)
    except AppError as e:
        if e.code == "reason_required":
            return templates.TemplateResponse(request, "cases/reason.html", _ctx(
                request, p, active="cases", case_id=case_id), status_code=403)
        return _forbidden(request, p, e.message, e.code, e.status)
    case = f["case"]
    ctx = _ctx(request, p, active="cases", f=f, case=case, access_reason=access_reason or "",
               next_states=TRANSITIONS[Track(case["track"])][State(case["state"])],
               events=_events_for(case["track"]), roles=[r.value for r in PartyRole],
               parties_by_id={x["id"]: x for x in f["parties"]},
               active_codes={x["party_id"] for x in f["codes"] if x["revoked_at"] is None})
    ctx["state_label"] = _label(ctx["lang"])
    return templates.TemplateResponse(request, "cases/case.html", ctx)
