"""Dispatch HTTP API: intake, incidents, recommendations, one-click dispatch,
unit status and positions, SMS location links, alarm devices, duplicates,
escalation, alerts, the board snapshot and the live event stream (KPIs: kpi_api.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from jingwu.dispatch import type_pinyin, views
from jingwu.dispatch.crew_store import CrewRow
from jingwu.dispatch.domain import IntakeFlags, incident_number
from jingwu.dispatch.rows import AssignmentRow, IncidentRow, TransferRow
from jingwu.dispatch.schemas import (
    AssignmentRead,
    CallCreate,
    CallCreated,
    CrewCreate,
    DeviceAlarm,
    DeviceCreate,
    DeviceCreated,
    DispatchCreate,
    EscalateCreate,
    FeedbackCreate,
    IncidentRead,
    LinkRead,
    LocateCreate,
    MergeCreate,
    PositionsCreate,
    RecommendationRead,
    RecommendationsRead,
    SharedLocation,
    SplitCreate,
    StatusCreate,
    TransferCreate,
    TransferOutcomeCreate,
    TransferRead,
)
from jingwu.dispatch.services import alerts as alerts_svc
from jingwu.dispatch.services import assignments as assignments_svc
from jingwu.dispatch.services import crews as crews_svc
from jingwu.dispatch.services import devices as devices_svc
from jingwu.dispatch.services import incidents as incidents_svc
from jingwu.dispatch.services import intake as intake_svc
from jingwu.dispatch.services import location as location_svc
from jingwu.dispatch.services import planning as planning_svc
from jingwu.dispatch.services import recommend as recommend_svc
from jingwu.dispatch.services import tap_time
from jingwu.dispatch.services import transfers as transfers_svc
from jingwu.dispatch.settings import DispatchSettings
from jingwu.dispatch.wiring import BOARD_HUB, catalogue, dispatch_read_uow, dispatch_uow, geo, intake, sanity
from jingwu.platform.container import Container
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import InvalidInput
from jingwu.platform.http import ERROR_RESPONSES, ContainerDep, PrincipalDep, requires

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["dispatch"])
public_router = APIRouter(prefix="/api/v1/public", responses=ERROR_RESPONSES, tags=["public"])

STREAM_PING_SECONDS = 15.0
TakeCalls = Annotated[Principal, Depends(requires(Permission.TAKE_CALLS))]
Dispatcher = Annotated[Principal, Depends(requires(Permission.DISPATCH))]


def _transfer(t: TransferRow) -> TransferRead:
    return TransferRead(**{k: getattr(t, k) for k in TransferRead.model_fields})


def _asg(a: AssignmentRow) -> AssignmentRead:
    return AssignmentRead(**{k: getattr(a, k) for k in AssignmentRead.model_fields})


def incident_read(inc: IncidentRow, type_name: str, **extra: Any) -> IncidentRead:
    fields = {k: getattr(inc, k) for k in IncidentRead.model_fields if hasattr(inc, k)}
    return IncidentRead(**fields, number=incident_number(inc.received_at, inc.seq), type_name=type_name, **extra)


def _type_name(c: Container, type_code: str) -> str:
    t = catalogue(c).types.types.get(type_code)
    return t.name_zh if t else type_code


@router.get("/incident-types")
def incident_types(p: PrincipalDep, c: ContainerDep) -> list[dict[str, Any]]:
    """The incident type dictionary (code, names, category, default priority, APCO, GA 240.1), with the
    Chinese name's pinyin and initials for the type picker's search (``daoqie``, ``dq``)."""
    return [type_pinyin.type_entry(t) for t in catalogue(c).types.types.values()]


@router.post("/calls", response_model=CallCreated, status_code=201)
async def receive_call(body: CallCreate, p: TakeCalls, c: ContainerDep, response: Response,
                       idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> CallCreated:
    """Take a call from any channel. 201 = durably stored; a retry with the same Idempotency-Key returns
    the same incident (200) and never creates a second one. Concurrent calls are committed together
    (group commit), each answered only after its commit."""
    cmd = intake_svc.ReceiveCall(
        channel=body.channel, type_code=body.type_code, lon=body.lon, lat=body.lat, accuracy_m=body.accuracy_m,
        address=body.address, summary=body.summary, caller_name=body.caller_name, caller_phone=body.caller_phone,
        flags=IntakeFlags(**body.flags.model_dump()), idempotency_key=idempotency_key, handling=body.handling)
    r: intake_svc.IntakeResult = await intake(c).submit(intake_svc.IntakeItem(cmd, p.username, p.agency_id))
    if not r.created:
        response.status_code = 200
    return CallCreated(incident_id=r.incident_id, number=r.number, priority=r.priority, level=r.level,
                       agency_id=r.agency_id, town_id=r.town_id, duplicates=r.duplicates,
                       location_status=r.location_status)


@router.get("/incidents/{incident_id}", response_model=IncidentRead)
def get_incident(incident_id: UUID, p: PrincipalDep, c: ContainerDep,
                 personal: bool = Query(False, description="include caller name/phone (audited)"),
                 reason: str | None = Query(None, max_length=400)) -> IncidentRead:
    inc, asgs, timeline, props, shown, trs = incidents_svc.get_incident(
        p, str(incident_id), uow=dispatch_uow(c), with_personal=personal, reason=reason)
    return incident_read(inc, _type_name(c, inc.type_code), assignments=[_asg(a) for a in asgs],
                         transfers=[_transfer(t) for t in trs],
                         timeline=timeline, duplicates=props,
                         caller={"name": inc.caller_name, "phone": inc.caller_phone} if shown else None)


@router.get("/incidents/{incident_id}/recommendations", response_model=RecommendationsRead)
def recommendations(incident_id: UUID, p: Dispatcher, c: ContainerDep,
                    limit: int = Query(10, ge=1, le=100),
                    override: bool = Query(False, description="rank units even for a call handled without units")
                    ) -> RecommendationsRead:
    """Units ranked by ETA on their own travel mode's road graph from their latest position, filtered by
    availability and run card; none for a call handled without units (``withheld`` says why)."""
    inc, need, rule, recs = recommend_svc.recommend(p, str(incident_id), uow=dispatch_read_uow(c), geo=geo(c),
                                               cat=catalogue(c), limit=limit, include_handled=override)
    withheld = f"handled as {inc.handling}: no units by default" if inc.handling and not override else None
    return RecommendationsRead(incident_id=inc.id, required=need, run_card=rule, withheld=withheld, units=[
        RecommendationRead(unit_id=r.unit.id, call_sign=r.unit.call_sign, kind=r.unit.kind, status=r.unit.status,
                           agency_id=r.unit.agency_id, eta_seconds=r.eta_seconds, position_source=r.position_source,
                           matches_run_card=r.matches_run_card, reasons=r.reasons,
                           travel_mode=r.travel_mode, in_scope=r.in_scope) for r in recs])


@router.post("/incidents/{incident_id}/dispatch", response_model=AssignmentRead)
def dispatch(incident_id: UUID, body: DispatchCreate, p: Dispatcher, c: ContainerDep) -> AssignmentRead:
    """One click. 409 `unit_unavailable` when another dispatcher was faster. The route (ETA, line, metres,
    travel mode) is computed read-only first and kept on the assignment. A call handled without units takes
    one only with `override_reason` (409 `handling_no_units`; never a fire engine for a consultation)."""
    try:
        UUID(body.unit_id)
    except ValueError:
        raise InvalidInput("unit_id is not a UUID.", code="validation_error")
    route, need = planning_svc.plan_for(p, str(incident_id), body.unit_id, uow=dispatch_read_uow(c), geo=geo(c),
                                        cat=catalogue(c))
    return _asg(assignments_svc.dispatch_unit(p, str(incident_id), body.unit_id, uow=dispatch_uow(c), route=route,
                                              required=need, override_reason=body.override_reason))


@router.get("/incidents/{incident_id}/route")
def route(incident_id: UUID, unit_id: UUID, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    """Route from a unit's position to the incident in the unit's travel mode (GeoJSON LineString, seconds,
    metres, travel_mode)."""
    return recommend_svc.unit_route(p, str(incident_id), str(unit_id), uow=dispatch_read_uow(c), geo=geo(c))


@router.post("/incidents/{incident_id}/location-link", response_model=LinkRead, status_code=201)
def location_link(incident_id: UUID, p: TakeCalls, c: ContainerDep) -> LinkRead:
    """A one-time link the call-taker sends by SMS; the caller's browser posts its position. The link's
    address is the configured public URL (JINGWU_PUBLIC_URL), never the request's Host header."""
    token, exp = location_svc.create_location_link(p, str(incident_id), uow=dispatch_uow(c))
    url = f"{c.settings.public_base()}/l/{token}"
    return LinkRead(url=url, expires_at=exp, sms_text=f"【110】请点击链接发送您的位置以便民警尽快到达：{url}")


@router.post("/incidents/{incident_id}/location")
def locate(incident_id: UUID, body: LocateCreate, p: TakeCalls, c: ContainerDep) -> dict[str, Any]:
    """Set an open incident's position by hand (map click or typed coordinates). The answer says where it
    now stands: located (snapped, then recommendable), unlocated (off the network) or outside_area."""
    status, agency = location_svc.locate_incident(p, str(incident_id), body.lon, body.lat, uow=dispatch_uow(c),
                                                  geo=geo(c), note=body.note)
    return {"incident_id": str(incident_id), "location_status": status, "agency_id": agency}


@router.post("/incidents/{incident_id}/transfers", response_model=TransferRead, status_code=201)
def request_transfer(incident_id: UUID, body: TransferCreate, p: TakeCalls, c: ContainerDep) -> TransferRead:
    """Offer the call to a neighbouring agency: an agency of this deployment or an outside one (name, phone)."""
    cmd = transfers_svc.RequestTransfer(reason=body.reason, target_agency_id=body.target_agency_id,
                                        target_name=body.target_name, target_phone=body.target_phone)
    return _transfer(transfers_svc.request_transfer(p, str(incident_id), cmd, uow=dispatch_uow(c)))


@router.post("/incidents/{incident_id}/transfers/{transfer_id}/outcome", response_model=TransferRead)
def transfer_outcome(incident_id: UUID, transfer_id: UUID, body: TransferOutcomeCreate, p: TakeCalls,
                     c: ContainerDep) -> TransferRead:
    """accepted (the incident closes, disposition "transferred") | refused | no_answer."""
    return _transfer(transfers_svc.record_outcome(p, str(incident_id), str(transfer_id), body.outcome, body.note,
                                                  uow=dispatch_uow(c)))


@router.post("/incidents/{incident_id}/merge", status_code=204)
def merge(incident_id: UUID, body: MergeCreate, p: TakeCalls, c: ContainerDep) -> Response:
    incidents_svc.merge(p, str(incident_id), body.into, uow=dispatch_uow(c))
    return Response(status_code=204)


@router.post("/incidents/{incident_id}/split", status_code=204)
def split(incident_id: UUID, body: SplitCreate, p: TakeCalls, c: ContainerDep) -> Response:
    incidents_svc.split(p, str(incident_id), body.candidate, uow=dispatch_uow(c))
    return Response(status_code=204)


@router.post("/incidents/{incident_id}/escalate", status_code=204)
def escalate(incident_id: UUID, body: EscalateCreate, p: Dispatcher, c: ContainerDep) -> Response:
    incidents_svc.escalate(p, str(incident_id), body.level, body.reason, uow=dispatch_uow(c))
    return Response(status_code=204)


def _tap_policy(c: Container) -> tap_time.TapPolicy:
    s = c.settings.section(DispatchSettings)
    return tap_time.TapPolicy(skew=timedelta(seconds=s.status_skew_seconds),
                              max_age=timedelta(hours=s.status_max_age_hours))


@router.post("/units/{unit_id}/status")
def unit_status(unit_id: UUID, body: StatusCreate, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    """签收 acknowledged → 出警 en_route → 到场 on_scene → 处置完毕 cleared (→ feedback); each step timed."""
    u = assignments_svc.report_status(p, str(unit_id), body.status, uow=dispatch_uow(c), note=body.note,
                                      client_at=tap_time.parse(body.at), policy=_tap_policy(c),
                                      reason=body.reason, sanity=sanity(c))
    return {"unit_id": u.id, "status": u.status, "incident_id": u.incident_id}


@router.post("/units/{unit_id}/feedback", status_code=204)
def unit_feedback(unit_id: UUID, body: FeedbackCreate, p: PrincipalDep, c: ContainerDep) -> Response:
    assignments_svc.give_feedback(p, str(unit_id), body.text, uow=dispatch_uow(c), cat=catalogue(c),
                                  final_type=body.final_type, client_at=tap_time.parse(body.at),
                                  policy=_tap_policy(c))
    return Response(status_code=204)


@router.post("/units/{unit_id}/positions", status_code=202)
def unit_positions(unit_id: UUID, body: PositionsCreate, p: PrincipalDep, c: ContainerDep) -> dict[str, int]:
    """A batch of AVL positions; the latest becomes the unit's position."""
    n = location_svc.post_positions(p, str(unit_id),
                                    [location_svc.Position(q.lon, q.lat, q.at) for q in body.positions],
                                    uow=dispatch_uow(c), sanity=sanity(c))
    return {"accepted": n}


@router.post("/units/{unit_id}/crew")
def crew_sign_on(unit_id: UUID, p: PrincipalDep, c: ContainerDep, response: Response,
                 body: CrewCreate | None = None) -> dict[str, Any]:
    """An officer signs on to the unit's crew for a shift (201; 200 when already on it). 409 on_another_crew,
    409 unit_inactive, 422 invalid_shift (ADR 0018)."""
    row, new = crews_svc.sign_on(p, str(unit_id), uow=dispatch_uow(c),
                                 shift_ends_at=body.shift_ends_at if body else None)
    response.status_code = 201 if new else 200
    return crew_read(row)


@router.delete("/units/{unit_id}/crew", status_code=204)
def crew_sign_off(unit_id: UUID, p: PrincipalDep, c: ContainerDep) -> Response:
    """The officer signs off the unit's crew (404 unknown unit, 409 not_on_crew)."""
    crews_svc.sign_off(p, str(unit_id), uow=dispatch_uow(c))
    return Response(status_code=204)


@router.get("/me/crew")
def my_crew(p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    """The unit the caller crews now, with the whole crew; ``crew`` null when on none."""
    found = crews_svc.my_crew(p, uow=dispatch_read_uow(c))
    if found is None:
        return {"crew": None}
    return {"crew": {**crew_read(found[0]), "members": found[1]}}


def crew_read(row: CrewRow) -> dict[str, Any]:
    return {"id": row.id, "unit_id": row.unit_id, "call_sign": row.call_sign, "username": row.username,
            "signed_on_at": row.signed_on_at.isoformat(),
            "shift_ends_at": row.shift_ends_at.isoformat() if row.shift_ends_at else None}


@router.get("/position-rejects")
def position_rejects(p: Dispatcher, c: ContainerDep, since: datetime | None = None,
                     limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
    """Positions refused by the sanity checks in the caller's scope: counts by reason and the latest rows."""
    if since is not None and since.tzinfo is None:
        raise InvalidInput("since needs a time zone (e.g. 2026-11-23T00:00:00+08:00).", code="invalid_time")
    if since is not None and not 1900 <= since.year <= 2999:
        raise InvalidInput("since must lie between the years 1900 and 2999.", code="invalid_range")
    return views.position_rejects(p, uow=dispatch_read_uow(c), since=since, limit=limit)


@router.get("/units/{unit_id}/assignment")
def unit_assignment(unit_id: UUID, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    """The unit's current order (for the mobile unit view)."""
    o = views.unit_order(p, str(unit_id), uow=dispatch_read_uow(c))
    u, a, inc = o.unit, o.assignment, o.incident
    out: dict[str, Any] = {"unit": {"id": u.id, "call_sign": u.call_sign, "status": u.status, "lon": u.lon,
                                    "lat": u.lat}, "assignment": None, "incident": None}
    if a and inc:
        out["assignment"] = _asg(a).model_dump(mode="json")
        out["incident"] = incident_read(inc, _type_name(c, inc.type_code)).model_dump(mode="json")
    return out


@router.post("/alarm-devices", response_model=DeviceCreated, status_code=201)
def register_device(body: DeviceCreate, p: Annotated[Principal, Depends(requires(Permission.MANAGE_ORG))],
                    c: ContainerDep) -> DeviceCreated:
    did, key = devices_svc.register_device(p, code=body.code, name=body.name, lon=body.lon, lat=body.lat,
                                        agency_id=body.agency_id, uow=dispatch_uow(c), geo=geo(c),
                                        heartbeat_seconds=body.heartbeat_seconds,
                                           signs=body.signs, payload_format=body.payload_format)
    return DeviceCreated(id=did, code=body.code, key=key, mqtt_secret=devices_svc.device_secret(key))


@router.get("/alarm-devices")
def devices(p: PrincipalDep, c: ContainerDep) -> list[dict[str, Any]]:
    return views.devices(p, uow=dispatch_read_uow(c))


@public_router.post("/alarm-devices/{code}/alarm", response_model=CallCreated, status_code=201)
def device_alarm(code: str, c: ContainerDep, response: Response, body: DeviceAlarm | None = None,
                 x_device_key: Annotated[str | None, Header()] = None) -> CallCreated:
    """An alarm button over HTTP (authenticated by its device key, not a user token)."""
    if not x_device_key:
        raise InvalidInput("X-Device-Key header required.", code="missing_device_key")
    r = devices_svc.device_alarm(code, x_device_key, uow=dispatch_uow(c), geo=geo(c), cat=catalogue(c),
                              event_id=body.event_id if body else None)
    if not r.created:
        response.status_code = 200
    return CallCreated(incident_id=r.incident_id, number=r.number, priority=r.priority, level=r.level,
                       agency_id=r.agency_id, town_id=r.town_id, duplicates=r.duplicates,
                       location_status=r.location_status)


@public_router.post("/alarm-devices/{code}/heartbeat", status_code=204)
def device_heartbeat(code: str, c: ContainerDep, x_device_key: Annotated[str | None, Header()] = None) -> Response:
    if not x_device_key:
        raise InvalidInput("X-Device-Key header required.", code="missing_device_key")
    devices_svc.device_heartbeat(code, x_device_key, uow=dispatch_uow(c))
    return Response(status_code=204)


@public_router.post("/location/{token}", status_code=204)
def share_location(token: str, body: SharedLocation, c: ContainerDep) -> Response:
    """The caller's browser sends its position through the one-time link (no login)."""
    location_svc.share_location(token, body.lon, body.lat, body.accuracy_m, uow=dispatch_uow(c), geo=geo(c))
    return Response(status_code=204)


@router.get("/alerts")
def alerts(p: PrincipalDep, c: ContainerDep) -> list[dict[str, Any]]:
    return views.open_alerts(p, uow=dispatch_read_uow(c))


@router.post("/alerts/{alert_id}/resolve", status_code=204)
def resolve_alert(alert_id: Annotated[int, Path(ge=1, le=2**63 - 1)], p: Dispatcher, c: ContainerDep) -> Response:
    alerts_svc.resolve_alert(p, alert_id, uow=dispatch_uow(c))
    return Response(status_code=204)


@router.get("/board")
def board(p: PrincipalDep, c: ContainerDep, level: str | None = Query(None, pattern="^(station|branch|city)$"),
          hours: int = Query(12, ge=1, le=168)) -> dict[str, Any]:
    """Live board snapshot: open and recent incidents, units, alerts, devices (scoped to the caller)."""
    return views.board(p, uow=dispatch_read_uow(c), cat=catalogue(c), level=level, hours=hours)


@router.get("/stream")
async def stream(request: Request, p: PrincipalDep, c: ContainerDep) -> StreamingResponse:
    """Server-Sent Events: a small message whenever dispatch state changes (clients refetch /board), and a
    `ping` event after every STREAM_PING_SECONDS without one, so a phone notices a dead link."""
    queue: asyncio.Queue[str] = asyncio.Queue(maxsize=100)
    hub = c.get(BOARD_HUB)
    hub.add(queue)
    hub.scopes[queue] = p.agency_path  # what this subscriber may hear (board_hub.py)

    async def gen() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 2000\n\n"
            while True:
                if await request.is_disconnected():
                    break
                try:
                    msg = await asyncio.wait_for(queue.get(), timeout=STREAM_PING_SECONDS)
                    yield f"event: change\ndata: {msg}\n\n".encode()
                except TimeoutError:  # a ping the client sees: silence longer than that is a dead link
                    yield b"event: ping\ndata: {}\n\n"
        finally:
            hub.discard(queue)

    return StreamingResponse(gen(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def fan_out(c: Container, subject: str, payload: dict[str, Any]) -> None:
    """Bus handler: push a compact change note to the open board streams allowed to hear it."""
    hub = c.get(BOARD_HUB)
    if not hub:
        return

    def reload() -> None:
        with c.uow() as uow:
            hub.agency_paths = {a.id: a.path for a in uow.agencies.in_subtree("/")}
            hub.unit_agencies = {u.id: u.agency_id for u in uow.units.in_subtree("/")}

    path = hub.change_path(payload)
    if path is None and (payload.get("agency_id") or payload.get("unit_id")):
        await asyncio.to_thread(reload)
        path = hub.change_path(payload)
        if path is None:  # an id no longer known: tell nobody its ids
            path = "\x00"
    for q, msg in hub.messages(subject, payload, path):
        try:
            q.put_nowait(msg)
        except asyncio.QueueFull:
            pass
