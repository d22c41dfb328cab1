"""The KPI API: response times by station, type, priority and hour, flagged arrivals marked and switchable,
the average-arrival headline and its weekly trend (kpi_views), as JSON and as CSV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query, Response

from jingwu.dispatch import kpi_views
from jingwu.dispatch.services.records import check_range
from jingwu.dispatch.wiring import catalogue, dispatch_read_uow
from jingwu.platform.container import Container
from jingwu.platform.domain import Principal
from jingwu.platform.http import ERROR_RESPONSES, ContainerDep, PrincipalDep

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["dispatch"])

_OI = Query("exclude", pattern="^(exclude|include|only)$",
            description="officer-initiated (on-view) incidents in the response times")
_FLAGGED = Query("include", pattern="^(include|exclude|only)$",
                 description="incidents whose first arrival is flagged (too_soon, far_from_scene, …)")


def _window(c: Container, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """The window (default: the last 24 h); 422 invalid_time without a zone, invalid_range for a year outside
    1900–2999 or since not before until (never a 500 on an extreme date)."""
    check_range(since, until)
    until = until or c.clock.now()
    since = since or until - timedelta(days=1)
    check_range(since, until)
    return since.astimezone(UTC), until.astimezone(UTC)


def _kpis(p: Principal, c: Container, since: datetime | None, until: datetime | None, officer_initiated: str,
          flagged: str) -> dict[str, Any]:
    s, u = _window(c, since, until)
    return kpi_views.kpis(p, uow=dispatch_read_uow(c), since=s, until=u, tz=catalogue(c).timezone,
                          officer_initiated=officer_initiated, flagged=flagged)


@router.get("/kpis")
def kpis(p: PrincipalDep, c: ContainerDep, since: datetime | None = None, until: datetime | None = None,
         officer_initiated: str = _OI, flagged: str = _FLAGGED) -> dict[str, Any]:
    """Response times (s): intake→dispatch, dispatch→arrival, total — mean, median, p90 by type, priority,
    station and hour; the headline (average arrival time = first arrival − first dispatch) and its trend by
    local week; unit ranking by median dispatch→arrival; incident counts with flagged arrivals.
    Officer-initiated incidents are left out unless ``officer_initiated=include`` (or ``only``); incidents
    with a flagged first arrival are in unless ``flagged=exclude`` (or ``only``)."""
    return _kpis(p, c, since, until, officer_initiated, flagged)


@router.get("/kpis/export.csv", response_class=Response)
def kpis_export(p: PrincipalDep, c: ContainerDep, since: datetime | None = None, until: datetime | None = None,
                officer_initiated: str = _OI, flagged: str = _FLAGGED) -> Response:
    """The same KPIs as CSV (UTF-8 with BOM): section, key, metric, n, mean_s, median_s, p90_s; the window in
    the deployment's zone with its offset."""
    data = _kpis(p, c, since, until, officer_initiated, flagged)
    return Response(kpi_views.kpis_csv(data, catalogue(c).timezone), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="kpis.csv"'})
