"""Call handling (处置方式, ADR 0019): a call-taker marks a call as a consultation, a transfer to 12345 or
another agency, or a duplicate; such calls get no recommendations and no units by default, a transfer is
recorded with its target (and later its outcome, transfers.record_outcome), and the call closes without
units with a reason."""

from __future__ import annotations

from dataclasses import dataclass

from jingwu.dispatch.handling import HOTLINE_12345, TRANSFER_HANDLINGS, Handling, parse_handling
from jingwu.dispatch.rows import IncidentRow
from jingwu.dispatch.services.common import incident_of, load_incident, store_incident
from jingwu.dispatch.services.transfers import RequestTransfer, add_transfer, check_target
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Conflict, InvalidInput


@dataclass(frozen=True)
class SetHandling:
    handling: str | None  # None / "dispatch": back to an ordinary call
    reason: str
    target_agency_id: str | None = None  # transfer_agency: an agency of this deployment ...
    target_name: str | None = None  # ... or an outside one with its phone
    target_phone: str | None = None
    duplicate_of: str | None = None  # duplicate: the incident it repeats (informative)


def set_handling(p: Principal, incident_id: str, cmd: SetHandling, *, uow: DispatchUnitOfWork) -> IncidentRow:
    """Change how an open call is handled. A no-unit handling needs the call to have no unit committed
    (409 units_committed); a transfer handling records the transfer request with its target."""
    h = parse_handling(cmd.handling)
    reason = cmd.reason.strip()
    if not reason:
        raise InvalidInput("Say why the call is handled this way.", code="missing_reason")
    transfer: RequestTransfer | None = None
    name = phone = None
    if h in TRANSFER_HANDLINGS:
        if h is Handling.TRANSFER_12345:
            transfer = RequestTransfer(reason=reason, target_name=HOTLINE_12345[0], target_phone=HOTLINE_12345[1])
        else:
            transfer = RequestTransfer(reason=reason, target_agency_id=cmd.target_agency_id,
                                       target_name=cmd.target_name, target_phone=cmd.target_phone)
        name, phone = check_target(transfer)
    with uow:
        inc = load_incident(uow, p, incident_id, Permission.TAKE_CALLS)
        if inc.status not in ("open", "dispatched", "on_scene"):
            raise Conflict(f"The incident is {inc.status}; its handling no longer changes.", code="incident_closed")
        if h is not None and any(a.active for a in uow.assignments.for_incidents([inc.id])):
            raise Conflict("Units are committed to this call: stand them down before handling it without units.",
                           code="units_committed")
        if cmd.duplicate_of is not None and uow.incidents.get(cmd.duplicate_of) is None:
            raise InvalidInput(f"Incident {cmd.duplicate_of} does not exist.", code="invalid_duplicate")
        now = uow.clock.now()
        value = h.value if h else None
        uow.incidents.update(inc.id, handling=value)
        transfer_id = add_transfer(uow, p, inc, transfer, name, phone) if transfer is not None else None
        detail = {"handling": value, "previous": inc.handling, "reason": reason, "transfer_id": transfer_id,
                  "duplicate_of": cmd.duplicate_of}
        uow.incidents.add_event(inc.id, at=now, kind="handling_set", actor=p.username, detail=detail)
        uow.audit.write(actor=p.username, action="handling_set", object_type="incident", object_id=inc.id,
                        agency_id=inc.agency_id, reason=reason,
                        detail={k: v for k, v in detail.items() if k != "reason"})
        uow.emit("jingwu.dispatch.incident_updated", {"incident_id": inc.id, "agency_id": inc.agency_id})
        uow.commit()
        out = uow.incidents.get(inc.id)
    if out is None:
        raise RuntimeError(f"Incident {incident_id} vanished after its commit.")
    return out


def close_handled(p: Principal, incident_id: str, reason: str, *, uow: DispatchUnitOfWork) -> IncidentRow:
    """Close a call handled without units (disposition = its handling), with a reason. 409
    ``handling_required`` for an ordinary call (it closes through its units), ``transfer_pending`` while a
    transfer waits for its outcome, ``not_closable`` once units are committed."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say why the call is closed.", code="missing_reason")
    with uow:
        inc = load_incident(uow, p, incident_id, Permission.TAKE_CALLS)
        if not inc.handling:
            raise Conflict("Only a call handled without units closes this way; set its handling first.",
                           code="handling_required")
        if inc.status != "open":
            raise Conflict(f"The incident is {inc.status}: it does not close without its units.",
                           code="not_closable")
        if any(t.outcome is None for t in uow.transfers.for_incidents([inc.id])):
            raise Conflict("A transfer of this incident is waiting for its outcome.", code="transfer_pending")
        now = uow.clock.now()
        before = incident_of(inc)
        store_incident(uow, before, before.close_without_units(now))
        uow.incidents.update(inc.id, disposition=inc.handling)
        uow.incidents.add_event(inc.id, at=now, kind="closed", actor=p.username,
                                detail={"disposition": inc.handling, "reason": reason})
        uow.audit.write(actor=p.username, action="incident_closed", object_type="incident", object_id=inc.id,
                        agency_id=inc.agency_id, reason=reason, detail={"handling": inc.handling})
        uow.emit("jingwu.dispatch.incident_closed", {"incident_id": inc.id, "agency_id": inc.agency_id})
        uow.commit()
        out = uow.incidents.get(inc.id)
    if out is None:
        raise RuntimeError(f"Incident {incident_id} vanished after its commit.")
    return out
