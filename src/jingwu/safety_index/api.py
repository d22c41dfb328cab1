"""Safety Index HTTP API: the authenticated index, series, warnings, tickets,
assessment and on-demand computation under ``/api/v1/safety-index``; the
published index without login under ``/api/v1/public/safety-index`` (JSON, CSV,
GeoJSON, CAP 1.2 XML). Parse → service → schema; no logic here.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import InvalidInput
from jingwu.platform.http import ERROR_RESPONSES, ContainerDep, PrincipalDep, requires
from jingwu.safety_index import publish, views
from jingwu.safety_index.config import SafetyIndexSettings, load_method
from jingwu.safety_index.domain import Ticket
from jingwu.safety_index.schemas import (
    ActionBody,
    AssessmentRead,
    AssessmentReport,
    AssignBody,
    CloseBody,
    ComputeBody,
    ComputeRead,
    IndexRead,
    PublicIndexRead,
    PublicTownRead,
    SeriesPointRead,
    SeriesRead,
    TicketActionRead,
    TicketRead,
    TownScoreRead,
)
from jingwu.safety_index.services import compute, tickets
from jingwu.safety_index.services.assessment import Assessment, assessment

router = APIRouter(prefix="/api/v1/safety-index", tags=["safety-index"], responses=ERROR_RESPONSES)
public_router = APIRouter(prefix="/api/v1/public/safety-index", tags=["public"], responses=ERROR_RESPONSES)

DateQ = Annotated[date | None, Query(alias="date", description="YYYY-MM-DD; the latest computed day if omitted")]
FromQ = Annotated[date | None, Query(alias="from")]
ToQ = Annotated[date | None, Query(alias="to")]
Analyst = Annotated[Principal, Depends(requires(Permission.ANALYSE))]


def _ticket(t: Ticket, c: ContainerDep) -> TicketRead:
    return TicketRead(id=t.id, town_id=t.town_id, agency_id=t.agency_id, home_agency_id=t.home_agency_id,
                      date=t.day, reasons=list(t.reasons), status=t.status.value, owner=t.owner,
                      opened_at=t.opened_at, deadline=t.deadline, overdue=t.overdue(c.clock.now()),
                      escalation_level=t.escalation_level,
                      actions=[TicketActionRead(at=a.at, actor=a.actor, text=a.text) for a in t.actions],
                      closed_at=t.closed_at, closure=t.closure)


@router.get("", response_model=IndexRead)
def get_index(p: PrincipalDep, c: ContainerDep, day: DateQ = None) -> IndexRead:
    """Per town in your scope: state, score, band, rank (city-wide, among the scored towns), sub-indices,
    rates, warnings. A town without data that day has ``state: no_data`` and nulls, never 100."""
    d, rows, ranked = views.index_for(day, principal=p, uow=c.uow())
    return IndexRead(date=d, ranked_towns=ranked,
                     towns=[TownScoreRead(**{k: v for k, v in r.__dict__.items() if k != "day"}) for r in rows])


@router.get("/towns/{town}/series", response_model=SeriesRead)
def get_series(town: str, p: PrincipalDep, c: ContainerDep, first: FromQ = None, last: ToQ = None) -> SeriesRead:
    t, pts = views.series(town, first, last, uow=c.uow(), principal=p)
    return SeriesRead(town_code=t.code, name=t.name, name_en=t.name_en,
                      points=[SeriesPointRead(date=x.day, state=x.state, score=x.score, band=x.band, rank=x.rank)
                              for x in pts])


@router.post("/compute", response_model=ComputeRead)
def post_compute(body: ComputeBody, p: Analyst, c: ContainerDep) -> ComputeRead:
    """Compute (or recompute) a range of days now (the daily job does this every day). Only an analyst
    whose agency covers every town (403 ``city_scope_required``); never a day after today in the
    deployment's time zone (422 ``future_day``)."""
    compute.require_city_scope(p, c.uow())
    if body.from_date and body.to_date and body.from_date > body.to_date:
        raise InvalidInput("'from' must not be after 'to'", code="invalid_range")
    si = c.settings.section(SafetyIndexSettings)
    s = compute.compute(body.from_date, body.to_date, uow_factory=c.uow, clock=c.clock,
                         tz=ZoneInfo(c.settings.timezone), method=load_method(si.method_file),
                         ticket_recent_days=si.ticket_recent_days, ticket_deadline_days=si.ticket_deadline_days)
    return ComputeRead(first=s.first, last=s.last, days=s.days, towns=s.towns, warnings=s.warnings,
                       tickets_opened=s.tickets_opened, notes=s.notes)


@router.get("/tickets", response_model=list[TicketRead])
def get_tickets(p: PrincipalDep, c: ContainerDep,
                status: Annotated[str | None, Query(description="open | in_progress | closed")] = None,
                ) -> list[TicketRead]:
    return [_ticket(t, c) for t in tickets.list_tickets(principal=p, uow=c.uow(), status=status)]


@router.get("/tickets/{ticket_id}", response_model=TicketRead)
def get_ticket(ticket_id: str, p: PrincipalDep, c: ContainerDep) -> TicketRead:
    return _ticket(tickets.get_ticket(ticket_id, principal=p, uow=c.uow()), c)


@router.post("/tickets/{ticket_id}/assign", response_model=TicketRead)
def post_assign(ticket_id: str, body: AssignBody, p: PrincipalDep, c: ContainerDep) -> TicketRead:
    return _ticket(tickets.assign_ticket(ticket_id, body.owner, principal=p, uow=c.uow()), c)


@router.post("/tickets/{ticket_id}/actions", response_model=TicketRead)
def post_action(ticket_id: str, body: ActionBody, p: PrincipalDep, c: ContainerDep) -> TicketRead:
    return _ticket(tickets.add_ticket_action(ticket_id, body.text, principal=p, uow=c.uow()), c)


@router.post("/tickets/{ticket_id}/close", response_model=TicketRead)
def post_close(ticket_id: str, body: CloseBody, p: PrincipalDep, c: ContainerDep) -> TicketRead:
    return _ticket(tickets.close_ticket(ticket_id, body.closure, principal=p, uow=c.uow()), c)


@router.get("/assessment", response_model=AssessmentReport)
def get_assessment(p: PrincipalDep, c: ContainerDep, first: Annotated[date, Query(alias="from")],
                   last: Annotated[date, Query(alias="to")]) -> AssessmentReport:
    """Period assessment per town and per responsible agency (with the same period a year earlier)."""
    towns, agencies = assessment(first, last, principal=p, uow=c.uow())

    def conv(a: Assessment) -> AssessmentRead:
        return AssessmentRead(id=a.key, **{k: v for k, v in a.__dict__.items() if k != "key"})

    return AssessmentReport(from_date=first, to_date=last, towns=[conv(a) for a in towns],
                            agencies=[conv(a) for a in agencies])


# ---------------------------------------------------------------- public (no login)

@public_router.get("", response_model=PublicIndexRead,
                   responses={200: {"content": {"text/csv": {}, "application/geo+json": {},
                                                "application/cap+xml": {}}}})
def get_public(request: Request, c: ContainerDep, day: DateQ = None,
               format: Annotated[Literal["json", "csv", "geojson", "cap"], Query()] = "json") -> Response:
    """The published index of a day: aggregates only; counts below 3 withheld. ``format=cap`` gives the
    day's warnings (red band, trend) as one CAP 1.2 alert."""
    if format == "cap":
        d, warns, scored, n_towns = views.public_warnings(day, uow=c.uow())
        xml = publish.to_cap(d, warns, sender=c.settings.section(SafetyIndexSettings).cap_sender, sent=c.clock.now(),
                             base_url=str(request.base_url), tz=ZoneInfo(c.settings.timezone), scored=scored,
                             towns=n_towns)
        return Response(xml, media_type="application/cap+xml; charset=utf-8")
    pub = views.public_index(day, uow=c.uow(), with_geometry=format == "geojson")
    headers = {"Cache-Control": "public, max-age=300"}
    if format == "csv":
        headers["Content-Disposition"] = f'attachment; filename="safety-index-{pub.day.isoformat()}.csv"'
        return Response(publish.to_csv(pub.towns), media_type="text/csv; charset=utf-8", headers=headers)
    if format == "geojson":
        return JSONResponse(publish.to_geojson(pub.day, pub.towns), media_type="application/geo+json",
                            headers=headers)
    body = PublicIndexRead(date=pub.day, first_date=pub.first_date, last_date=pub.last_date,
                           ranked_towns=pub.ranked_towns, total_towns=len(pub.towns),
                           towns=[PublicTownRead(**publish.public_properties(r)) for r in pub.towns])
    return JSONResponse(body.model_dump(mode="json"), headers=headers)


@public_router.get("/towns/{town_code}/series", response_model=SeriesRead)
def get_public_series(town_code: str, c: ContainerDep, first: FromQ = None, last: ToQ = None) -> SeriesRead:
    """Daily score, band and rank of one town (no counts)."""
    t, pts = views.series(town_code, first, last, uow=c.uow())
    return SeriesRead(town_code=t.code, name=t.name, name_en=t.name_en,
                      points=[SeriesPointRead(date=x.day, state=x.state, score=x.score, band=x.band, rank=x.rank)
                              for x in pts])
