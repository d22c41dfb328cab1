"""Exchange HTTP API under ``/api/v1/exchange``: agreements (propose, approve, revoke), shared records,
cooperation requests, enterprises and coercive measures, the compliance report; and the federation webhook
inbox (``POST /api/v1/exchange/inbox``: a signed envelope, authenticated by its signature, no token).
Parse → service → dict; no logic here."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from jingwu.exchange.bulletin_document import bulletin_document_html
from jingwu.exchange.cap import alert_to_cap
from jingwu.exchange.domain import Agreement, CoopRequest, Measure
from jingwu.exchange.schemas import (
    AgreementBody,
    ArgumentBody,
    ConfirmBody,
    DecisionBody,
    DisputeBody,
    DisputeDecisionBody,
    EnterpriseBody,
    FollowUpBody,
    MeasureBody,
    NoticeBody,
    PatrolBody,
    RequestActionBody,
    RequestBody,
    RevokeBody,
    RiskBody,
    RiskShareBody,
    ShareBody,
)
from jingwu.exchange.services import agreements, disputes, measures, patrols, requests, risks
from jingwu.exchange.services.bulletin import bulletin
from jingwu.exchange.services.inbound import receive
from jingwu.exchange.settings import ExchangeSettings
from jingwu.exchange.wiring import federation
from jingwu.platform import documents
from jingwu.platform.errors import Conflict
from jingwu.platform.http import ERROR_RESPONSES, ContainerDep, PrincipalDep, error_response

router = APIRouter(prefix="/api/v1/exchange", tags=["exchange"], responses=ERROR_RESPONSES)


def plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    return obj


def _agreement(a: Agreement, now: datetime) -> dict[str, Any]:
    return {**plain(a), "state": a.state_at(now)}


def _request(q: CoopRequest, now: datetime) -> dict[str, Any]:
    return {**plain(q), "overdue": q.overdue(now)}


def _measure(m: Measure, now: datetime) -> dict[str, Any]:
    return {**plain(m), "notice_state": m.notice_state(now)}


@router.get("/agreements")
def get_agreements(p: PrincipalDep, c: ContainerDep) -> list[dict[str, Any]]:
    now = c.clock.now()
    return [_agreement(a, now) for a in agreements.list_agreements(principal=p, uow=c.uow())]


@router.post("/agreements", status_code=201)
def post_agreement(body: AgreementBody, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    """Propose an agreement (your approval included); the partner side approves it. With a peer, the proposal
    travels as a signed ``agreement.proposed`` message."""
    a = agreements.propose(agreements.Propose(**body.model_dump()), principal=p, uow=c.uow(), fed=federation(c))
    return _agreement(a, c.clock.now())


@router.get("/agreements/{agreement_id}")
def get_agreement(agreement_id: str, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return _agreement(agreements.get_agreement(agreement_id, principal=p, uow=c.uow()), c.clock.now())


@router.post("/agreements/{agreement_id}/approve")
def post_approve(agreement_id: str, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return _agreement(agreements.approve(agreement_id, principal=p, uow=c.uow(), fed=federation(c)), c.clock.now())


@router.post("/agreements/{agreement_id}/revoke")
def post_revoke(agreement_id: str, body: RevokeBody, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    a = agreements.revoke(agreement_id, body.reason, principal=p, uow=c.uow(), fed=federation(c))
    return _agreement(a, c.clock.now())


@router.post("/agreements/{agreement_id}/shares", status_code=201)
def post_share(agreement_id: str, body: ShareBody, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    """Share one record: fields outside the agreement are stripped before it leaves (listed in ``stripped``)."""
    s = agreements.share(agreement_id, body.record_type, body.record, principal=p, uow=c.uow(), fed=federation(c))
    return plain(s)


@router.get("/shares")
def get_shares(p: PrincipalDep, c: ContainerDep,
               record_type: Annotated[str | None, Query()] = None,
               direction: Annotated[str | None, Query(pattern="^(in|out)$")] = None) -> list[dict[str, Any]]:
    return plain(agreements.list_shares(principal=p, uow=c.uow(), record_type=record_type, direction=direction))


@router.get("/shares/{share_id}/cap", response_class=Response,
            responses={200: {"content": {"application/cap+xml": {}}}})
def get_share_cap(share_id: int, p: PrincipalDep, c: ContainerDep) -> Response:
    """A shared alert (sent or received) as a CAP 1.2 message; 409 ``not_an_alert`` for other records."""
    row = agreements.get_share(share_id, principal=p, uow=c.uow())
    if row["record_type"] != "alert":
        raise Conflict("only alerts have a CAP form", code="not_an_alert")
    xs = c.settings.section(ExchangeSettings)
    sender = f"{xs.deployment_id or 'jingwu'}@exchange.jingwu.invalid"
    return Response(alert_to_cap(row, sender=sender, tz=ZoneInfo(c.settings.timezone)),
                    media_type="application/cap+xml")


@router.get("/requests")
def get_requests(p: PrincipalDep, c: ContainerDep) -> list[dict[str, Any]]:
    now = c.clock.now()
    return [_request(q, now) for q in requests.list_requests(principal=p, uow=c.uow())]


@router.post("/requests", status_code=201)
def post_request(body: RequestBody, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    q = requests.create(requests.NewRequest(**body.model_dump()), principal=p, uow=c.uow(), fed=federation(c))
    return _request(q, c.clock.now())


@router.get("/requests/{request_id}")
def get_request(request_id: str, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return _request(requests.get_request(request_id, principal=p, uow=c.uow()), c.clock.now())


@router.post("/requests/{request_id}/actions")
def post_request_action(request_id: str, body: RequestActionBody, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    """accept / decline / progress / result (the requested side, before the deadline: else 409
    ``request_past_deadline``); extend / withdraw (the requesting side)."""
    q = requests.act(request_id, body.action, body.text, principal=p, uow=c.uow(), fed=federation(c),
                     deadline=body.deadline)
    return _request(q, c.clock.now())


@router.get("/enterprises")
def get_enterprises(p: PrincipalDep, c: ContainerDep) -> list[dict[str, Any]]:
    return plain(measures.list_enterprises(principal=p, uow=c.uow()))


@router.post("/enterprises", status_code=201)
def post_enterprise(body: EnterpriseBody, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return plain(measures.register_enterprise(measures.NewEnterprise(**body.model_dump()), principal=p,
                                              uow=c.uow()))


@router.post("/measures", status_code=201)
def post_measure(body: MeasureBody, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    """A coercive measure; on a flagged enterprise it waits for the superior agency's approval."""
    m = measures.create_measure(measures.NewMeasure(**body.model_dump()), principal=p, uow=c.uow())
    return _measure(m, c.clock.now())


@router.post("/measures/{measure_id}/decision")
def post_decision(measure_id: str, body: DecisionBody, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return _measure(measures.decide(measure_id, body.approve, body.reason, principal=p, uow=c.uow()), c.clock.now())


@router.post("/measures/{measure_id}/take")
def post_take(measure_id: str, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    """Record that the measure was taken: 409 ``approval_required`` while the superior has not approved; starts
    the 12-hour notice timer when the enterprise's home agency is elsewhere."""
    return _measure(measures.take(measure_id, principal=p, uow=c.uow()), c.clock.now())


@router.post("/measures/{measure_id}/notify")
def post_notify(measure_id: str, body: NoticeBody, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    m = measures.notify(measure_id, body.text, principal=p, uow=c.uow(), fed=federation(c))
    return _measure(m, c.clock.now())


@router.get("/compliance")
def get_compliance(p: PrincipalDep, c: ContainerDep,
                   from_: Annotated[datetime | None, Query(alias="from")] = None,
                   to: Annotated[datetime | None, Query()] = None) -> dict[str, Any]:
    rows, totals = measures.compliance(principal=p, uow=c.uow(), start=from_, end=to)
    now = c.clock.now()
    return {"totals": totals, "measures": [{**_measure(r.measure, now), "enterprise": r.enterprise,
                                            "agency": r.agency} for r in rows]}


@router.get("/bulletin")
def get_bulletin(p: PrincipalDep, c: ContainerDep,
                 month: Annotated[str, Query(description="YYYY-MM, in the deployment's time zone")]) -> dict[str, Any]:
    """The monthly joint bulletin as JSON (the page /exchange/bulletin draws it with charts)."""
    b = bulletin(month, principal=p, uow=c.uow(), tz=ZoneInfo(c.settings.timezone))
    return {**plain({k: v for k, v in vars(b).items() if k not in ("days",)}), "days": [d.isoformat() for d in b.days]}


@router.get("/bulletin.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}, "description": "The bulletin as a PDF"}})
def get_bulletin_pdf(p: PrincipalDep, c: ContainerDep,
                     month: Annotated[str, Query(description="YYYY-MM, in the deployment's time zone")],
                     lang: Annotated[str, Query(description="zh-CN (default) or en")] = "zh-CN") -> Response:
    """The monthly joint bulletin as a PDF (A4, tables and the day-by-day bar chart), same scope and
    permission as the JSON."""
    b = bulletin(month, principal=p, uow=c.uow(), tz=ZoneInfo(c.settings.timezone))
    html = bulletin_document_html(b, lang)
    title = ("Monthly joint bulletin " if lang == "en" else "月度联合通报 ") + b.month
    return Response(documents.html_to_pdf(html, title=title), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="bulletin-{b.month}.pdf"'})


@router.get("/risks")
def get_risks(p: PrincipalDep, c: ContainerDep) -> list[dict[str, Any]]:
    """The shared risk register of your scope (``review_overdue`` when the next review has passed)."""
    return plain(risks.register_view(principal=p, uow=c.uow()))


@router.post("/risks", status_code=201)
def post_risk(body: RiskBody, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return plain(risks.register(risks.NewRisk(**body.model_dump()), principal=p, uow=c.uow()))


@router.post("/risks/{risk_id}/followups")
def post_followup(risk_id: str, body: FollowUpBody, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return plain(risks.follow_up(risk_id, body.text, principal=p, uow=c.uow(), status=body.status, level=body.level,
                                 next_review=body.next_review))


@router.post("/risks/{risk_id}/share", status_code=201)
def post_risk_share(risk_id: str, body: RiskShareBody, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    """Share the risk with the partner of an agreement (only the agreed ``risk`` fields leave)."""
    return plain(risks.share(risk_id, body.agreement_id, principal=p, uow=c.uow(), fed=federation(c)))


@router.get("/patrols")
def get_patrols(p: PrincipalDep, c: ContainerDep) -> list[dict[str, Any]]:
    """Joint patrols and shared checkpoints under the agreements you see."""
    return plain(patrols.list_patrols(principal=p, uow=c.uow()))


@router.post("/patrols", status_code=201)
def post_patrol(body: PatrolBody, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    """Plan a joint patrol or shared checkpoint; the partner sees the agreed fields and confirms."""
    return plain(patrols.plan(patrols.NewPatrol(**body.model_dump()), principal=p, uow=c.uow(), fed=federation(c)))


@router.post("/patrols/{patrol_id}/confirm")
def post_patrol_confirm(patrol_id: str, body: ConfirmBody, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return plain(patrols.confirm(patrol_id, body.units, principal=p, uow=c.uow(), fed=federation(c)))


@router.get("/disputes")
def get_disputes(p: PrincipalDep, c: ContainerDep) -> list[dict[str, Any]]:
    return plain(disputes.list_disputes(principal=p, uow=c.uow()))


@router.post("/disputes", status_code=201)
def post_dispute(body: DisputeBody, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    """Raise a jurisdiction dispute with another agency of this deployment."""
    return plain(disputes.raise_dispute(disputes.NewDispute(**body.model_dump()), principal=p, uow=c.uow()))


@router.post("/disputes/{dispute_id}/arguments")
def post_argument(dispute_id: str, body: ArgumentBody, p: PrincipalDep, c: ContainerDep) -> dict[str, Any]:
    return plain(disputes.argue(dispute_id, body.text, principal=p, uow=c.uow()))


@router.post("/disputes/{dispute_id}/decision")
def post_dispute_decision(dispute_id: str, body: DisputeDecisionBody, p: PrincipalDep,
                          c: ContainerDep) -> dict[str, Any]:
    """The legal office of an agency above both parties decides, after both sides argued (409 ``not_argued``)."""
    return plain(disputes.decide(dispute_id, body.competent_agency_code, body.reasoning, principal=p, uow=c.uow()))


_REFUSAL_STATUS = {"unknown_peer": 403, "bad_signature": 401, "replay": 409, "unsupported_version": 422,
                   "malformed_message": 422}


@router.post("/inbox", responses={200: {"description": "applied or duplicate"}})
async def post_inbox(request: Request, c: ContainerDep) -> JSONResponse:
    """The webhook transport: one signed envelope per POST (the same envelope as on NATS). 200 ``applied`` or
    ``duplicate``; a refused message gets 4xx with the refusal code and is recorded and audited."""
    import anyio

    raw = await request.body()
    out = await anyio.to_thread.run_sync(lambda: receive(raw, transport="webhook", uow_factory=c.uow,
                                                          fed=federation(c)))
    if out.status == "refused":
        return error_response(_REFUSAL_STATUS.get(out.code or "", 409), out.code or "refused", out.message or "")
    return JSONResponse({"status": out.status, "id": out.msg_id})
