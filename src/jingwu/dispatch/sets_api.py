"""Whole-set dispatch and call handling over HTTP (ADR 0019): send the run card's missing units in one
action, send the next best unit, the stored route of an assignment, set a call's handling and close a call
handled without units."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from jingwu.dispatch.api import _asg, _type_name, incident_read
from jingwu.dispatch.schemas import AssignmentRead, IncidentRead
from jingwu.dispatch.services import dispatch_sets as sets_svc
from jingwu.dispatch.services import handling as handling_svc
from jingwu.dispatch.services.common import load_incident
from jingwu.dispatch.wiring import catalogue, dispatch_read_uow, dispatch_uow, geo
from jingwu.platform.container import Container
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import NotFound
from jingwu.platform.http import ERROR_RESPONSES, ContainerDep, PrincipalDep, requires

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["dispatch"])

TakeCalls = Annotated[Principal, Depends(requires(Permission.TAKE_CALLS))]
Dispatcher = Annotated[Principal, Depends(requires(Permission.DISPATCH))]


class SentRead(BaseModel):
    call_sign: str
    kind: str
    assignment: AssignmentRead


class RefusedRead(BaseModel):
    unit_id: str
    call_sign: str
    kind: str
    code: str = Field(..., description="unit_unavailable: another dispatcher took it first; or another refusal")
    message: str


class DispatchSetRead(BaseModel):
    incident_id: str
    required: dict[str, int]
    run_card: str
    missing: dict[str, int] = Field(..., description="per unit kind, not yet sent before this action")
    sent: list[SentRead]
    refused: list[RefusedRead]
    still_missing: dict[str, int] = Field(..., description="per unit kind, still not sent after it")


class DispatchNextRead(BaseModel):
    call_sign: str
    kind: str
    assignment: AssignmentRead
    skipped: list[RefusedRead] = Field(..., description="better candidates taken meanwhile")


class HandlingCreate(BaseModel):
    handling: str | None = Field(..., max_length=32, description="dispatch | consultation | transfer_12345 | "
                                 "transfer_agency | duplicate")
    reason: str = Field(..., min_length=1, max_length=2000)
    target_agency_id: str | None = Field(None, min_length=36, max_length=36)
    target_name: str | None = Field(None, max_length=200)
    target_phone: str | None = Field(None, max_length=64)
    duplicate_of: UUID | None = None


class CloseCreate(BaseModel):
    reason: str = Field(..., min_length=1, max_length=2000)


def _factory(c: Container) -> sets_svc.UowFactory:
    return lambda: dispatch_uow(c)


def _refused(r: sets_svc.Refusal) -> RefusedRead:
    return RefusedRead(unit_id=r.unit_id, call_sign=r.call_sign, kind=r.kind, code=r.code, message=r.message)


@router.post("/incidents/{incident_id}/dispatch-set", response_model=DispatchSetRead)
def dispatch_set(incident_id: UUID, p: Dispatcher, c: ContainerDep) -> DispatchSetRead:
    """Send the run card's missing units in one action, per kind by ETA, each in its own transaction: a
    unit taken meanwhile is listed in `refused`, the others go out. 409 `nothing_missing` when the set is
    complete, `handling_no_units` for a call handled without units."""
    r = sets_svc.dispatch_set(p, str(incident_id), uow_factory=_factory(c), geo=geo(c), cat=catalogue(c))
    return DispatchSetRead(incident_id=r.incident_id, required=r.required, run_card=r.run_card, missing=r.missing,
                           sent=[SentRead(call_sign=cs, kind=k, assignment=_asg(a)) for a, cs, k in r.sent],
                           refused=[_refused(x) for x in r.refused], still_missing=r.still_missing)


@router.post("/incidents/{incident_id}/dispatch-next", response_model=DispatchNextRead)
def dispatch_next(incident_id: UUID, p: Dispatcher, c: ContainerDep) -> DispatchNextRead:
    """Send the next best unit (a kind still missing first; never one that already refused or was stood
    down from this incident). 409 `no_unit_available`."""
    a, rec, skipped = sets_svc.dispatch_next(p, str(incident_id), uow_factory=_factory(c), geo=geo(c),
                                             cat=catalogue(c))
    return DispatchNextRead(call_sign=rec.unit.call_sign, kind=rec.unit.kind, assignment=_asg(a),
                            skipped=[_refused(x) for x in skipped])


@router.get("/assignments/{assignment_id}/route")
def assignment_route(assignment_id: UUID, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    """The route stored when the unit was sent (GeoJSON LineString, ETA seconds, metres, travel mode);
    404 `no_route` when none was computed."""
    with dispatch_read_uow(c) as uow:
        a = uow.assignments.get(str(assignment_id))
        if a is None:
            raise NotFound(f"Assignment {assignment_id} does not exist.")
        load_incident(uow, p, a.incident_id, Permission.READ_ORG)
    if a.route_geojson is None:
        raise NotFound("No route was stored for this assignment.", code="no_route")
    return {"assignment_id": a.id, "unit_id": a.unit_id, "incident_id": a.incident_id,
            "seconds": a.eta_seconds, "meters": a.route_metres, "travel_mode": a.travel_mode,
            "geometry": json.loads(a.route_geojson)}


@router.post("/incidents/{incident_id}/handling", response_model=IncidentRead)
def set_handling(incident_id: UUID, body: HandlingCreate, p: TakeCalls, c: ContainerDep) -> IncidentRead:
    """How the call is handled: dispatch (units are sent) or consultation, transfer_12345, transfer_agency
    (with a target), duplicate (no units by default). 422 `unknown_handling`."""
    cmd = handling_svc.SetHandling(handling=body.handling, reason=body.reason, target_agency_id=body.target_agency_id,
                                   target_name=body.target_name, target_phone=body.target_phone,
                                   duplicate_of=str(body.duplicate_of) if body.duplicate_of else None)
    inc = handling_svc.set_handling(p, str(incident_id), cmd, uow=dispatch_uow(c))
    return incident_read(inc, _type_name(c, inc.type_code))


@router.post("/incidents/{incident_id}/close", response_model=IncidentRead)
def close(incident_id: UUID, body: CloseCreate, p: TakeCalls, c: ContainerDep) -> IncidentRead:
    """Close a call handled without units, with a reason (disposition = its handling)."""
    inc = handling_svc.close_handled(p, str(incident_id), body.reason, uow=dispatch_uow(c))
    return incident_read(inc, _type_name(c, inc.type_code))
