"""Coercive measures on enterprises (seed 001, item 16): a seizure, impoundment, freeze, detention or arrest
touching a flagged enterprise needs the approval of a commander of a superior agency before it is taken, and
the enterprise's home agency is notified within 12 hours of taking it. The timer escalates a late notice;
the compliance report counts what was approved, notified in time, late, and still open."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jingwu.exchange import envelope
from jingwu.exchange.domain import (
    AgreementStatus,
    Enterprise,
    Measure,
    MeasureKind,
    MeasureStatus,
    check_peer_id,
    notice_due,
    strip_record,
)
from jingwu.exchange.services.common import (
    SYSTEM_ACTOR,
    Federation,
    actor_of,
    agency_paths,
    parse_time,
    require_any,
    send,
)
from jingwu.exchange.services.inbound import _payload_str, handler
from jingwu.exchange.store import repo
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Conflict, Forbidden, InvalidInput, NotFound
from jingwu.platform.uow import SqlUnitOfWork

CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")  # GB 32100-2015 shape
REGISTER = (Permission.COMMAND, Permission.HANDLE_CASES)
REPORT = (Permission.COMMAND, Permission.READ_AUDIT, Permission.REVIEW_CASES)


@dataclass(frozen=True)
class NewEnterprise:
    name: str
    credit_code: str
    flagged: bool
    flag_reason: str | None = None
    home_agency_code: str | None = None
    home_peer_id: str | None = None


def register_enterprise(cmd: NewEnterprise, *, principal: Principal, uow: SqlUnitOfWork) -> Enterprise:
    require_any(principal, REGISTER)
    code = cmd.credit_code.strip().upper()
    if not CREDIT_CODE.match(code):
        raise InvalidInput("credit_code must be an 18-character unified social credit code", code="invalid_credit_code")
    if not cmd.name.strip():
        raise InvalidInput("an enterprise needs a name", code="invalid_name")
    if bool(cmd.home_agency_code) == bool(cmd.home_peer_id):
        raise InvalidInput("name either home_agency_code or home_peer_id", code="invalid_home")
    if cmd.flagged and not (cmd.flag_reason or "").strip():
        raise InvalidInput("a flagged enterprise needs the reason (major project, key enterprise ...)",
                           code="invalid_flag")
    with uow:
        home = None
        if cmd.home_agency_code:
            ag = uow.agencies.by_code(cmd.home_agency_code)
            if ag is None:
                raise InvalidInput(f"agency {cmd.home_agency_code!r} does not exist", code="unknown_agency")
            home = ag.id
        else:
            check_peer_id(cmd.home_peer_id or "")
            if repo(uow).peer(cmd.home_peer_id or "") is None:
                raise InvalidInput(f"peer {cmd.home_peer_id!r} is not configured", code="unknown_peer")
        if repo(uow).enterprise_by_code(code) is not None:
            raise Conflict(f"enterprise {code} is registered", code="enterprise_exists")
        e = Enterprise(id=str(uuid.uuid4()), name=cmd.name.strip(), credit_code=code, home_agency_id=home,
                       home_peer_id=cmd.home_peer_id, flagged=cmd.flagged, flag_reason=cmd.flag_reason)
        repo(uow).add_enterprise(e, uow.clock.now())
        uow.audit.write(actor=actor_of(principal), action="exchange.enterprise_registered", object_type="xc_enterprise",
                        object_id=e.id, agency_id=principal.agency_id,
                        detail={"name": e.name, "credit_code": code, "flagged": e.flagged})
        uow.commit()
    return e


def list_enterprises(*, principal: Principal, uow: SqlUnitOfWork) -> list[Enterprise]:
    require_any(principal, REGISTER + REPORT)
    with uow:
        return repo(uow).enterprises()


@dataclass(frozen=True)
class NewMeasure:
    enterprise_id: str
    kind: str
    agency_code: str
    case_ref: str
    basis: str


def create_measure(cmd: NewMeasure, *, principal: Principal, uow: SqlUnitOfWork) -> Measure:
    try:
        kind = MeasureKind(cmd.kind)
    except ValueError as exc:
        raise InvalidInput(f"kind must be one of {', '.join(k.value for k in MeasureKind)}",
                           code="invalid_kind") from exc
    if not cmd.case_ref.strip() or not cmd.basis.strip():
        raise InvalidInput("a measure needs its case reference and legal basis", code="invalid_measure")
    now = uow.clock.now()
    with uow:
        ag = uow.agencies.by_code(cmd.agency_code)
        if ag is None:
            raise InvalidInput(f"agency {cmd.agency_code!r} does not exist", code="unknown_agency")
        require_any(principal, REGISTER, ag.path)
        e = repo(uow).enterprise(cmd.enterprise_id)
        if e is None:
            raise NotFound(f"enterprise {cmd.enterprise_id} does not exist", code="enterprise_not_found")
        m = Measure(id=str(uuid.uuid4()), enterprise_id=e.id, kind=kind, agency_id=ag.id,
                    case_ref=cmd.case_ref.strip(), basis=cmd.basis.strip(),
                    status=MeasureStatus.PENDING_APPROVAL if e.flagged else MeasureStatus.APPROVED,
                    needs_approval=e.flagged, created_at=now, created_by=actor_of(principal))
        repo(uow).add_measure(m)
        uow.audit.write(actor=actor_of(principal), action="exchange.measure_requested", object_type="xc_measure",
                        object_id=m.id, agency_id=ag.id,
                        detail={"enterprise": e.name, "kind": kind.value, "needs_approval": e.flagged})
        uow.commit()
    return m


def _measure(uow: SqlUnitOfWork, measure_id: str) -> Measure:
    m = repo(uow).measure(measure_id, lock=True)
    if m is None:
        raise NotFound(f"measure {measure_id} does not exist", code="measure_not_found")
    return m


def decide(measure_id: str, approve: bool, reason: str = "", *, principal: Principal,
           uow: SqlUnitOfWork) -> Measure:
    """The superior agency's decision: a commander of an agency above the acting one (not the acting one)."""
    with uow:
        m = _measure(uow, measure_id)
        acting = uow.agencies.get(m.agency_id)
        require_any(principal, (Permission.COMMAND,), acting.path)
        if principal.agency_id == acting.id:
            raise Forbidden("the approval must come from a superior agency, not the acting one",
                            code="not_superior")
        if m.status is not MeasureStatus.PENDING_APPROVAL:
            raise Conflict(f"measure is {m.status.value}", code="measure_not_pending")
        if not approve and not reason.strip():
            raise InvalidInput("a rejection needs a reason", code="invalid_reason")
        now = uow.clock.now()
        status = MeasureStatus.APPROVED if approve else MeasureStatus.REJECTED
        repo(uow).update_measure(m.id, status=status, approver=actor_of(principal), approved_at=now)
        uow.audit.write(actor=actor_of(principal), action=f"exchange.measure_{status.value}",
                        object_type="xc_measure", object_id=m.id, agency_id=m.agency_id, reason=reason or None)
        uow.commit()
        got = repo(uow).measure(m.id)
    assert got is not None
    return got


def take(measure_id: str, *, principal: Principal, uow: SqlUnitOfWork) -> Measure:
    with uow:
        m = _measure(uow, measure_id)
        require_any(principal, REGISTER, uow.agencies.get(m.agency_id).path)
        if m.status is MeasureStatus.PENDING_APPROVAL:
            raise Conflict("this measure touches a flagged enterprise: the superior agency must approve it first",
                           code="approval_required")
        if m.status is not MeasureStatus.APPROVED:
            raise Conflict(f"measure is {m.status.value}", code="measure_not_approved")
        e = repo(uow).enterprise(m.enterprise_id)
        assert e is not None
        now = uow.clock.now()
        home_elsewhere = e.home_peer_id is not None or e.home_agency_id != m.agency_id
        due = notice_due(now) if home_elsewhere else None
        repo(uow).update_measure(m.id, status=MeasureStatus.TAKEN, taken_at=now, notice_due=due)
        uow.audit.write(actor=actor_of(principal), action="exchange.measure_taken", object_type="xc_measure",
                        object_id=m.id, agency_id=m.agency_id,
                        detail={"notice_due": due.isoformat() if due else None})
        uow.commit()
        got = repo(uow).measure(m.id)
    assert got is not None
    return got


def notify(measure_id: str, text: str, *, principal: Principal, uow: SqlUnitOfWork, fed: Federation) -> Measure:
    """Notify the enterprise's home agency: through an agreement in force covering ``measure_notice``."""
    with uow:
        m = _measure(uow, measure_id)
        acting = uow.agencies.get(m.agency_id)
        require_any(principal, REGISTER, acting.path)
        if m.status is not MeasureStatus.TAKEN or m.notice_due is None:
            raise Conflict("only a taken measure with a home agency elsewhere is notified", code="no_notice_needed")
        if m.notified_at is not None:
            raise Conflict("the home agency was notified already", code="already_notified")
        e = repo(uow).enterprise(m.enterprise_id)
        assert e is not None
        now = uow.clock.now()
        ancestors = {x for x in acting.path.strip("/").split("/") if x}
        agreement = None
        for a in repo(uow).agreements():
            if (a.in_force(now) and "measure_notice" in a.outgoing and a.agency_id in ancestors
                    and ((e.home_peer_id and a.peer_id == e.home_peer_id)
                         or (e.home_agency_id and a.partner_agency_id == e.home_agency_id))):
                agreement = a
                break
            if (a.in_force(now) and "measure_notice" in a.incoming and a.partner_agency_id in ancestors
                    and e.home_agency_id == a.agency_id):
                agreement = a
                break
        if agreement is None:
            raise Conflict("no agreement in force covers measure notices to the enterprise's home agency",
                           code="no_agreement")
        notice = {"enterprise": e.name, "credit_code": e.credit_code, "measure": m.kind.value,
                  "taken_at": envelope.utc_text(m.taken_at or now), "acting_agency": acting.name,
                  "case_ref": m.case_ref, "basis": text.strip() or m.basis}
        actor = actor_of(principal)
        msg_id = None
        terms = agreement.outgoing if "measure_notice" in agreement.outgoing and agreement.agency_id in ancestors \
            else agreement.incoming
        notice, stripped = strip_record(notice, terms["measure_notice"])
        if agreement.peer_id:
            msg_id = send(uow, fed, peer_id=agreement.peer_id, type_="measure.notice", now=now,
                          payload={"agreement_id": agreement.id, "measure_id": m.id, "notice": notice})
        sid = repo(uow).add_share(agreement_id=agreement.id, direction="out", record_type="measure_notice",
                                  record_id=m.id, agency_id=m.agency_id, partner_agency_id=e.home_agency_id,
                                  peer_id=agreement.peer_id, fields=notice, stripped=stripped, msg_id=msg_id, at=now,
                                  actor=actor)
        late = now > m.notice_due
        repo(uow).update_measure(m.id, notified_at=now)
        for ag in {m.agency_id} | ({e.home_agency_id} if e.home_agency_id else set()):
            uow.audit.write(actor=actor, action="exchange.measure_notified", object_type="xc_measure", object_id=m.id,
                            agency_id=ag, detail={"share_id": sid, "msg_id": msg_id, "late": late,
                                                  "due": m.notice_due.isoformat()})
        uow.commit()
        got = repo(uow).measure(m.id)
    assert got is not None
    return got


def tick(*, uow: SqlUnitOfWork) -> int:
    """Escalate every taken measure whose 12-hour notice is late and unsent (once), to the superior agency."""
    now = uow.clock.now()
    with uow:
        r = repo(uow)
        late = r.late_unnotified(now)
        for m in late:
            acting = uow.agencies.get(m.agency_id)
            r.update_measure(m.id, escalated_at=now)
            uow.audit.write(actor=SYSTEM_ACTOR, action="exchange.measure_notice_late", object_type="xc_measure",
                            object_id=m.id, agency_id=acting.parent_id or acting.id,
                            detail={"acting_agency": acting.id, "due": m.notice_due.isoformat() if m.notice_due
                                    else None})
            uow.emit("jingwu.exchange.measure_notice_late", {"measure_id": m.id, "agency_id": m.agency_id,
                                                             "escalated_to": acting.parent_id})
        uow.commit()
    return len(late)


@dataclass(frozen=True)
class ComplianceRow:
    measure: Measure
    enterprise: str
    agency: str
    state: str


def compliance(*, principal: Principal, uow: SqlUnitOfWork, start: datetime | None = None,
               end: datetime | None = None) -> tuple[list[ComplianceRow], dict[str, int]]:
    require_any(principal, REPORT)
    start = parse_time(start, "from") if start is not None else None
    end = parse_time(end, "to") if end is not None else None
    now = uow.clock.now()
    with uow:
        paths = agency_paths(uow)
        names = {a.id: a.name for a in uow.agencies.in_subtree("/")}
        ents = {e.id: e.name for e in repo(uow).enterprises()}
        rows = []
        for m in repo(uow).measures():
            if not principal.in_scope(paths[m.agency_id]):
                continue
            if (start and m.created_at < start) or (end and m.created_at >= end):
                continue
            rows.append(ComplianceRow(m, ents.get(m.enterprise_id, "?"), names.get(m.agency_id, "?"),
                                      m.notice_state(now)))
    totals: dict[str, Any] = {"measures": len(rows),
                              "needing_approval": sum(r.measure.needs_approval for r in rows),
                              "approved": sum(r.measure.approved_at is not None and r.measure.needs_approval
                                              and r.measure.status is not MeasureStatus.REJECTED for r in rows),
                              "pending_approval": sum(r.measure.status is MeasureStatus.PENDING_APPROVAL
                                                      for r in rows),
                              "taken": sum(r.measure.taken_at is not None for r in rows),
                              "taken_without_approval": sum(r.measure.needs_approval and r.measure.taken_at
                                                            is not None and r.measure.approved_at is None
                                                            for r in rows)}
    for st in ("pending", "late_pending", "on_time", "late"):
        totals[st] = sum(r.state == st for r in rows)
    return rows, totals


@handler("measure.notice")
def _notice(uow: SqlUnitOfWork, msg: envelope.Checked, actor: str) -> None:
    from jingwu.exchange.services.inbound import peer_agreement

    a = peer_agreement(uow, msg)
    if not (a.status is AgreementStatus.ACTIVE and a.valid_from <= msg.created_at < a.valid_to):
        raise Conflict(f"agreement {a.id} was not in force", code="agreement_not_in_force")
    allowed = a.incoming.get("measure_notice")
    if allowed is None:
        raise Conflict("the agreement does not cover measure notices", code="not_in_agreement")
    body = msg.payload.get("notice")
    if not isinstance(body, dict):
        raise InvalidInput("payload member 'notice' must be an object", code="invalid_payload")
    kept, stripped = strip_record(body, allowed)
    mid = _payload_str(msg.payload, "measure_id")
    sid = repo(uow).add_share(agreement_id=a.id, direction="in", record_type="measure_notice", record_id=mid,
                              agency_id=a.agency_id, partner_agency_id=None, peer_id=msg.peer, fields=kept,
                              stripped=stripped, msg_id=msg.id, at=uow.clock.now(), actor=actor)
    uow.audit.write(actor=actor, action="exchange.measure_notice_received", object_type="xc_share",
                    object_id=str(sid), agency_id=a.agency_id, detail={"measure_id": mid, "msg_id": msg.id,
                                                                       "stripped": stripped})
