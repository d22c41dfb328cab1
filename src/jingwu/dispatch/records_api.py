"""The incidents module's HTTP API (警情): the filtered, searched, paged list, its CSV export and one
incident's whole record. Registered before the dispatch API so ``/incidents/export.csv`` is not taken for an
incident id."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Query, Response
from fastapi.encoders import jsonable_encoder

from jingwu.dispatch.services import records as records_svc
from jingwu.dispatch.wiring import catalogue, dispatch_read_uow, dispatch_uow
from jingwu.platform.http import ERROR_RESPONSES, ContainerDep, PrincipalDep

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["incidents"])


def _split(values: list[str] | None) -> tuple[str, ...]:
    """``?status=open&status=closed`` or ``?status=open,closed``."""
    return tuple(x.strip() for v in values or () for x in v.split(",") if x.strip())


def list_query(since: datetime | None = None, until: datetime | None = None, type_code: list[str] | None = None,
               priority: list[str] | None = None, status: list[str] | None = None, station: str | None = None,
               flag: list[str] | None = None, q: str | None = None) -> records_svc.ListQuery:
    prios: list[int] = []
    for x in _split(priority):
        try:
            prios.append(int(x.removeprefix("P").removeprefix("p")))
        except ValueError:
            prios.append(0)  # refused as invalid_priority
    return records_svc.ListQuery(since=since, until=until, types=_split(type_code), priorities=tuple(prios),
                                 statuses=_split(status), station_id=station or None, flags=_split(flag),
                                 q=(q or "").strip()[:200] or None)


_FILTER_DOC = ("Filters: since/until (received, ISO with zone), type_code, priority (1-4), status, station "
               "(an agency id: it and the agencies below it), flag (arrival_flagged, stood_down, "
               "officer_initiated, imported, outside_area, unlocated, transferred, merged, escalated, no_dispatch, "
               "duplicate_proposed; several = all of them); repeated or comma-separated. q: an incident number "
               "(JQ20261123000042 or its sequence) or address text.")


@router.get("/incidents")
def list_incidents(p: PrincipalDep, c: ContainerDep, since: datetime | None = None, until: datetime | None = None,
                   type_code: list[str] | None = Query(None), priority: list[str] | None = Query(None),
                   status: list[str] | None = Query(None), station: str | None = None,
                   flag: list[str] | None = Query(None), q: str | None = Query(None, max_length=200),
                   page: int = Query(1, ge=1, le=1_000_000),
                   per_page: int = Query(50, ge=1, le=records_svc.MAX_PER_PAGE)) -> dict[str, Any]:
    """Incidents in the caller's scope (own agency and those below), newest first, paged (1-based page,
    total and pages returned). """
    lq = list_query(since, until, type_code, priority, status, station, flag, q)
    out = records_svc.list_incidents(p, lq, uow=dispatch_read_uow(c), cat=catalogue(c), page=page,
                                     per_page=per_page)
    return jsonable_encoder(out)


list_incidents.__doc__ = (list_incidents.__doc__ or "") + _FILTER_DOC


@router.get("/incidents/export.csv", response_class=Response)
def export_incidents(p: PrincipalDep, c: ContainerDep, since: datetime | None = None, until: datetime | None = None,
                     type_code: list[str] | None = Query(None), priority: list[str] | None = Query(None),
                     status: list[str] | None = Query(None), station: str | None = None,
                     flag: list[str] | None = Query(None), q: str | None = Query(None, max_length=200)) -> Response:
    """The filtered list as CSV (UTF-8 with BOM): times in the deployment's zone with the UTC offset. No
    personal data. At most 50,000 incidents (else 422 export_too_large)."""
    lq = list_query(since, until, type_code, priority, status, station, flag, q)
    body = records_svc.export_csv(p, lq, uow=dispatch_read_uow(c), cat=catalogue(c))
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="incidents.csv"'})


@router.get("/incidents/{incident_id}/record")
def incident_record(incident_id: UUID, p: PrincipalDep, c: ContainerDep,
                    personal: bool = Query(False, description="include callers' name/phone (audited)"),
                    reason: str | None = Query(None, max_length=400)) -> dict[str, Any]:
    """The whole record: calls (with merged ones), merges, assignments (ETA, route, arrival flags,
    stand-down), status steps, feedback, transfers, location links, personal-data reads, one timeline."""
    uow = dispatch_uow(c) if personal else dispatch_read_uow(c)
    return jsonable_encoder(records_svc.record(p, str(incident_id), uow=uow, cat=catalogue(c),
                                               with_personal=personal, reason=reason))
