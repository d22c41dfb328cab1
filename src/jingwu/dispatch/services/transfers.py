"""Transferring a call to a neighbouring agency (转警): a call outside the served area, or one that belongs
elsewhere, is offered to another agency, either one of this deployment or an outside agency named with its
phone number. The request and its outcome (accepted, refused, no answer) are recorded on the incident's
timeline and audited; an accepted transfer closes the incident with the disposition "transferred"."""

from __future__ import annotations

from dataclasses import dataclass

from jingwu.dispatch.domain import TRANSFERRED, TransferOutcome
from jingwu.dispatch.rows import IncidentRow, TransferRow
from jingwu.dispatch.services.common import incident_of, load_incident, store_incident
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Conflict, Forbidden, InvalidInput, NotFound


@dataclass(frozen=True)
class RequestTransfer:
    reason: str
    target_agency_id: str | None = None
    target_name: str | None = None
    target_phone: str | None = None


def request_transfer(p: Principal, incident_id: str, cmd: RequestTransfer, *, uow: DispatchUnitOfWork) -> TransferRow:
    """Offer an open, undispatched incident to another agency; one pending transfer at a time."""
    name, phone = check_target(cmd)
    with uow:
        inc = load_incident(uow, p, incident_id, Permission.TAKE_CALLS)
        tid = add_transfer(uow, p, inc, cmd, name, phone)
        uow.emit("jingwu.dispatch.incident_updated", {"incident_id": inc.id, "agency_id": inc.agency_id})
        uow.commit()
        row = uow.transfers.get(tid)
    if row is None:
        raise RuntimeError(f"Transfer {tid} vanished after its commit.")
    return row


def check_target(cmd: RequestTransfer) -> tuple[str | None, str | None]:
    """The request's reason and target, checked before any transaction: (outside name, phone)."""
    if not cmd.reason.strip():
        raise InvalidInput("Say why the call is transferred.", code="missing_reason")
    name = (cmd.target_name or "").strip() or None
    phone = (cmd.target_phone or "").strip() or None
    if (cmd.target_agency_id is None) == (name is None):
        raise InvalidInput("Give either target_agency_id (an agency of this deployment) or target_name with "
                           "target_phone (an outside agency).", code="invalid_target")
    if name is not None and phone is None:
        raise InvalidInput("An outside agency needs a phone number (target_phone).", code="missing_phone")
    return name, phone


def add_transfer(uow: DispatchUnitOfWork, p: Principal, inc: IncidentRow, cmd: RequestTransfer, name: str | None,
                 phone: str | None) -> str:
    """Record the request of a transfer in the caller's transaction (timeline, audit); its id."""
    if inc.status != "open":
        raise Conflict(f"Only an undispatched incident can be transferred; this one is {inc.status}.",
                       code="not_transferable")
    if cmd.target_agency_id is not None:
        target = uow.agencies.get(cmd.target_agency_id)  # 404 when unknown
        if target.id == inc.agency_id:
            raise InvalidInput("The incident already belongs to that agency.", code="invalid_target")
    if any(t.outcome is None for t in uow.transfers.for_incidents([inc.id])):
        raise Conflict("A transfer of this incident is waiting for its outcome.", code="transfer_pending")
    now = uow.clock.now()
    tid = uow.transfers.add(incident_id=inc.id, target_agency_id=cmd.target_agency_id, target_name=name,
                            target_phone=phone, reason=cmd.reason.strip(), by=p.username, at=now)
    detail = {"transfer_id": tid, "target_agency_id": cmd.target_agency_id, "target_name": name,
              "target_phone": phone}
    uow.incidents.add_event(inc.id, at=now, kind="transfer_requested", actor=p.username,
                            detail={**detail, "reason": cmd.reason.strip()})
    uow.audit.write(actor=p.username, action="transfer_requested", object_type="incident", object_id=inc.id,
                    agency_id=inc.agency_id, reason=cmd.reason.strip(), detail=detail)
    return tid


def record_outcome(p: Principal, incident_id: str, transfer_id: str, outcome: str, note: str | None, *,
                   uow: DispatchUnitOfWork) -> TransferRow:
    """Record what the other agency answered. Accepted: the incident closes, disposition "transferred".
    Who may record it: a call-taker over the incident's agency, or over the target agency (this deployment)."""
    try:
        oc = TransferOutcome(outcome)
    except ValueError:
        raise InvalidInput(f"Unknown outcome '{outcome}'; known: {[o.value for o in TransferOutcome]}.",
                           code="unknown_outcome")
    with uow:
        inc = uow.incidents.get(incident_id)
        t = uow.transfers.get(transfer_id)
        if inc is None or t is None or t.incident_id != inc.id:
            raise NotFound(f"Transfer {transfer_id} of incident {incident_id} does not exist.")
        p.require(Permission.TAKE_CALLS)
        if not (p.in_scope(inc.agency_path)
                or (t.target_agency_path is not None and p.in_scope(t.target_agency_path))):
            raise Forbidden("Only call-takers of the sending or the receiving agency record the outcome.",
                            code="out_of_scope")
        now = uow.clock.now()
        if not uow.transfers.decide(t.id, outcome=oc.value, note=note, by=p.username, at=now):
            raise Conflict("This transfer's outcome is already recorded.", code="transfer_decided")
        if oc is TransferOutcome.ACCEPTED:
            before = incident_of(inc)
            store_incident(uow, before, before.transfer_out(now))
            uow.incidents.update(inc.id, disposition=TRANSFERRED)
        uow.incidents.add_event(inc.id, at=now, kind=f"transfer_{oc.value}", actor=p.username,
                                detail={"transfer_id": t.id, "note": note})
        if oc is TransferOutcome.ACCEPTED:
            uow.incidents.add_event(inc.id, at=now, kind="closed", actor=p.username,
                                    detail={"disposition": TRANSFERRED})
        uow.audit.write(actor=p.username, action="transfer_outcome", object_type="incident", object_id=inc.id,
                        agency_id=inc.agency_id, reason=note, detail={"transfer_id": t.id, "outcome": oc.value})
        topic = "jingwu.dispatch.incident_closed" if oc is TransferOutcome.ACCEPTED else \
            "jingwu.dispatch.incident_updated"
        uow.emit(topic, {"incident_id": inc.id, "agency_id": inc.agency_id})
        uow.commit()
        row = uow.transfers.get(t.id)
    if row is None:
        raise RuntimeError(f"Transfer {t.id} vanished after its commit.")
    return row
