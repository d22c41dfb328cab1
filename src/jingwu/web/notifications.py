"""The administrators' notifications page (``/admin/notifications``, ``MANAGE_ORG``): every notification of
the caller's agency subtree, newest first, with status, attempts, next attempt or delivery time and the
legal due time (late ones marked), addresses masked, times in the deployment's zone; a filter by status and
a retry button for failed and dead ones (``static/js/notifications.js`` posts to the platform API)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from jingwu.platform import notify
from jingwu.platform.domain import Permission
from jingwu.platform.errors import AppError
from jingwu.platform.http import ContainerDep
from jingwu.web.ui import OptionalPrincipal, _ctx, _login_redirect, templates

router = APIRouter(include_in_schema=False)


@router.get("/admin/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, p: OptionalPrincipal, c: ContainerDep, status: str | None = None) -> Response:
    if p is None:
        return _login_redirect(request)
    if not p.can(Permission.MANAGE_ORG):
        return templates.TemplateResponse(request, "forbidden.html", _ctx(request, p, active="admin"),
                                          status_code=403)
    chosen = status if status in notify.STATUSES else None
    error = None
    try:
        rows = notify.list_notifications(p, uow=c.read_uow(), statuses=(chosen,) if chosen else ())
    except AppError as exc:  # pragma: no cover - the filter is checked above
        rows, error = [], exc.message
    counts: dict[str, int] = {}
    for r in notify.list_notifications(p, uow=c.read_uow(), limit=1000):
        counts[r.status] = counts.get(r.status, 0) + 1
    return templates.TemplateResponse(request, "notifications.html", _ctx(
        request, p, active="admin", rows=rows, statuses=notify.STATUSES, chosen=chosen, counts=counts, error=error))
