"""Cases HTTP API under ``/api/v1/cases`` (staff) and ``/api/v1/public/cases`` (the parties' lookup, no login).
Parse → one service → schema. Staff not assigned to a case pass ``access_reason`` (query) to open it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, Response

from jingwu.cases.domain import TRANSITIONS
from jingwu.cases.schemas import (
    AccountCreate,
    AssignBody,
    CaseCreate,
    CaseCreated,
    CasePublic,
    CodeIssued,
    DecisionBody,
    EventBody,
    ListRow,
    PartyCreate,
    PropertyCreate,
    RegisterAction,
    RuleRead,
    TransitionBody,
)
from jingwu.cases.services import lifecycle, oversight, parties, registers
from jingwu.cases.services.common import book
from jingwu.platform import documents
from jingwu.platform.http import ERROR_RESPONSES, ContainerDep, PrincipalDep, client_address

router = APIRouter(prefix="/api/v1/cases", tags=["cases"], responses=ERROR_RESPONSES)
public_router = APIRouter(prefix="/api/v1/public/cases", tags=["public"], responses=ERROR_RESPONSES)

ReasonQ = Annotated[str | None, Query(description="why you open a case you are not assigned to (recorded in the "
                                                  "interference register)", max_length=1000)]


def _file(d: dict[str, Any]) -> dict[str, Any]:
    out = dict(d)
    out["deadlines"] = [lifecycle.deadline_row(x) for x in d["deadlines"]]
    return jsonable_encoder(out)


@router.post("", status_code=201, response_model=CaseCreated)
def create_case(body: CaseCreate, p: PrincipalDep, c: ContainerDep) -> CaseCreated:
    r = lifecycle.open_new_case(lifecycle.OpenCase(
        track=body.track, title=body.title, summary=body.summary, agency_code=body.agency_code,
        investigators=tuple(body.investigators), legal_officer=body.legal_officer, incident_id=body.incident_id,
        incident_timeline=body.incident_timeline, accepted_at=body.accepted_at, reason=body.reason), p, c=c)
    return CaseCreated(**r)


@router.get("", response_model=list[ListRow])
def list_cases(p: PrincipalDep, c: ContainerDep,
               view: Annotated[str, Query(pattern="^(mine|all)$")] = "mine",
               incident_id: Annotated[str | None, Query(max_length=64)] = None) -> list[dict[str, Any]]:
    rows = lifecycle.deadline_list(p, c=c, mine=view == "mine", incident_id=incident_id)
    return [{**r, "deadlines": [lifecycle.deadline_row(d) for d in r["deadlines"]]} for r in rows]


@router.get("/rules", response_model=list[RuleRead])
def rules(p: PrincipalDep) -> list[RuleRead]:
    """The deadline rules registered in the rule book (the legal table and any other feature's)."""
    return [RuleRead(name=r.name, event=r.event, period=r.period.label("en"), done_by=list(r.done_by),
                     extensions=[x.event for x in r.extensions], title_zh=r.title_zh, title_en=r.title_en,
                     source=r.source, track=r.track, custody=r.custody, public=r.public) for r in book().rules()]


@router.get("/events")
def events(p: PrincipalDep) -> dict[str, str]:
    return book().events()


@router.get("/transitions")
def transitions(p: PrincipalDep) -> dict[str, dict[str, list[str]]]:
    return {t.value: {s.value: [x.value for x in nxt] for s, nxt in table.items()} for t, table in TRANSITIONS.items()}


@router.get("/interference")
def interference(p: PrincipalDep, c: ContainerDep,
                 week: Annotated[str | None, Query(max_length=10)] = None) -> dict[str, Any]:
    return jsonable_encoder(oversight.interference_report(p, c=c, week=week))


@router.get("/{case_id}")
def get_case(case_id: str, p: PrincipalDep, c: ContainerDep, access_reason: ReasonQ = None) -> dict[str, Any]:
    return _file(lifecycle.case_file(case_id, p, c=c, reason=access_reason))


@router.post("/{case_id}/transitions")
def post_transition(case_id: str, body: TransitionBody, p: PrincipalDep, c: ContainerDep,
                    access_reason: ReasonQ = None) -> dict[str, Any]:
    return lifecycle.transition(case_id, body.to, body.reason, p, c=c, at=body.at, access_reason=access_reason)


@router.post("/{case_id}/events", status_code=201)
def post_event(case_id: str, body: EventBody, p: PrincipalDep, c: ContainerDep,
               access_reason: ReasonQ = None) -> dict[str, str]:
    eid = lifecycle.record_event(case_id, body.event, p, c=c, at=body.at, subject=body.subject, reason=body.reason,
                                 access_reason=access_reason)
    return {"id": eid}


@router.post("/{case_id}/assignments", status_code=204)
def post_assignment(case_id: str, body: AssignBody, p: PrincipalDep, c: ContainerDep) -> Response:
    lifecycle.assign(case_id, body.username, body.duty, p, c=c)
    return Response(status_code=204)


@router.post("/{case_id}/parties", status_code=201)
def post_party(case_id: str, body: PartyCreate, p: PrincipalDep, c: ContainerDep,
               access_reason: ReasonQ = None) -> dict[str, str]:
    pid = parties.add_party(case_id, parties.AddParty(**body.model_dump()), p, c=c, access_reason=access_reason)
    return {"id": pid}


@router.post("/{case_id}/parties/{party_id}/code", status_code=201, response_model=CodeIssued)
def post_code(case_id: str, party_id: str, p: PrincipalDep, c: ContainerDep,
              access_reason: ReasonQ = None) -> CodeIssued:
    return CodeIssued(**parties.issue_code(case_id, party_id, p, c=c, access_reason=access_reason))


@router.delete("/{case_id}/parties/{party_id}/code", status_code=204)
def delete_code(case_id: str, party_id: str, p: PrincipalDep, c: ContainerDep,
                access_reason: ReasonQ = None) -> Response:
    parties.revoke_code(case_id, party_id, p, c=c, access_reason=access_reason)
    return Response(status_code=204)


@router.post("/{case_id}/property", status_code=201)
def post_property(case_id: str, body: PropertyCreate, p: PrincipalDep, c: ContainerDep,
                  access_reason: ReasonQ = None) -> dict[str, str]:
    iid = registers.intake_property(case_id, registers.Intake(**body.model_dump()), p, c=c,
                                    access_reason=access_reason)
    return {"id": iid}


@router.post("/{case_id}/property/{item_id}/actions")
def post_property_action(case_id: str, item_id: str, body: RegisterAction, p: PrincipalDep, c: ContainerDep,
                         access_reason: ReasonQ = None) -> dict[str, str]:
    st = registers.property_action(case_id, item_id, body.action, p, c=c, note=body.note,
                                   storage_place=body.storage_place, at=body.at, access_reason=access_reason)
    return {"status": st}


@router.post("/{case_id}/accounts", status_code=201)
def post_account(case_id: str, body: AccountCreate, p: PrincipalDep, c: ContainerDep,
                 access_reason: ReasonQ = None) -> dict[str, str]:
    aid = registers.freeze_account(case_id, registers.Freeze(**body.model_dump()), p, c=c,
                                   access_reason=access_reason)
    return {"id": aid}


@router.post("/{case_id}/accounts/{item_id}/actions")
def post_account_action(case_id: str, item_id: str, body: RegisterAction, p: PrincipalDep, c: ContainerDep,
                        access_reason: ReasonQ = None) -> dict[str, str]:
    st = registers.account_action(case_id, item_id, body.action, p, c=c, note=body.note, at=body.at,
                                  access_reason=access_reason)
    return {"status": st}


@router.post("/{case_id}/decision", status_code=201)
def post_decision(case_id: str, body: DecisionBody, p: PrincipalDep, c: ContainerDep,
                  access_reason: ReasonQ = None) -> dict[str, Any]:
    return registers.decide(case_id, registers.Decide(**body.model_dump()), p, c=c, access_reason=access_reason)


@router.get("/{case_id}/decision", response_class=HTMLResponse)
def get_decision(case_id: str, p: PrincipalDep, c: ContainerDep, public: bool = False,
                 access_reason: ReasonQ = None) -> HTMLResponse:
    return HTMLResponse(registers.decision_html(case_id, p, c=c, public=public, access_reason=access_reason))


@router.get("/{case_id}/decision.pdf")
def get_decision_pdf(case_id: str, p: PrincipalDep, c: ContainerDep, public: bool = True,
                     access_reason: ReasonQ = None) -> Response:
    html = registers.decision_html(case_id, p, c=c, public=public, access_reason=access_reason)
    return Response(documents.html_to_pdf(html, title="行政处罚决定书"), media_type="application/pdf")


@public_router.get("/{case_number}", response_model=CasePublic)
def public_case(case_number: str, request: Request, c: ContainerDep,
                code: Annotated[str, Query(min_length=1, max_length=64, description="your personal access code")]
                ) -> dict[str, Any]:
    """A party's view of its case: status timeline, responsible unit, next step and due date, seized property,
    frozen accounts (masked) and the redacted penalty decision. Wrong number or wrong code: the same 404
    ``no_match``; repeated failures: 429 ``rate_limited`` with Retry-After."""
    return parties.public_lookup(case_number[:64], code, address=client_address(request), c=c)
