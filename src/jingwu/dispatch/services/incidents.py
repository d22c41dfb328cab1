"""Incident reads and call-taker decisions: read one incident (caller data audited),
merge a duplicate into an earlier incident, keep two calls separate (split), escalate the command level."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from jingwu.dispatch.domain import Level
from jingwu.dispatch.incident import refuse_self_merge
from jingwu.dispatch.rows import AssignmentRow, IncidentRow, TransferRow
from jingwu.dispatch.services.common import incident_of, load_incident, store_incident
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Forbidden, InvalidInput, NotFound

PERSONAL_ROLES_PERMS = (Permission.TAKE_CALLS, Permission.DISPATCH, Permission.COMMAND)
# Free text (address, summary, the timeline's notes) can name people: the roles that work the call read it;
# any other role reads it only with a stated reason, audited, and otherwise sees it withheld.
FREE_TEXT_PERMS = (Permission.TAKE_CALLS, Permission.DISPATCH, Permission.COMMAND, Permission.REPORT_STATUS)
WITHHELD = "…"


def works_calls(p: Principal) -> bool:
    """The roles that work calls read their free text without a stated reason."""
    return any(p.can(x) for x in FREE_TEXT_PERMS)


def redact_free_text(inc: IncidentRow, timeline: list[dict[str, Any]]) -> tuple[IncidentRow, list[dict[str, Any]]]:
    """The incident and timeline with their free text withheld (structured facts kept)."""
    tl = [{**e, "detail": {k: (WITHHELD if isinstance(v, str) and k in ("text", "address", "summary", "note",
                                                                          "reason") else v)
                           for k, v in (e.get("detail") or {}).items()}} for e in timeline]
    return replace(inc, address=WITHHELD if inc.address else None,
                   summary=WITHHELD if inc.summary else None), tl


def get_incident(p: Principal, incident_id: str, *, uow: DispatchUnitOfWork, with_personal: bool = False,
                 reason: str | None = None) -> tuple[IncidentRow, list[AssignmentRow], list[dict[str, Any]],
                                                     list[dict[str, Any]], bool, list[TransferRow]]:
    """(incident, assignments, timeline, duplicate proposals, personal data shown, transfers).

    Caller name and phone are shown only to intake/dispatch/command roles, only
    when asked for, and every such read is audited.
    """
    with uow:
        found = uow.incidents.get(incident_id)
        # a call-taker reads the calls it took, wherever they were routed
        if found is not None and found.created_by == p.username and p.can(Permission.TAKE_CALLS):
            inc = found
        else:
            inc = load_incident(uow, p, incident_id, Permission.READ_ORG)
        works_call = works_calls(p)
        shown = with_personal and any(p.can(x) for x in PERSONAL_ROLES_PERMS)
        if with_personal and not shown and works_call:
            raise Forbidden("Your roles may not read the caller's personal data.", code="missing_role")
        if with_personal and not works_call and not (reason or "").strip():
            raise InvalidInput("Reading a call's free text needs a stated reason (it is audited).",
                               code="missing_reason")
        free_text = works_call or with_personal
        timeline = uow.incidents.timeline(inc.id)
        if shown:
            uow.audit.write(actor=p.username, action="personal_data_read", object_type="incident",
                            object_id=inc.id, agency_id=inc.agency_id, reason=reason,
                            detail={"fields": ["caller_name", "caller_phone"]})
        if not works_call and free_text:
            uow.audit.write(actor=p.username, action="free_text_read", object_type="incident",
                            object_id=inc.id, agency_id=inc.agency_id, reason=reason,
                            detail={"fields": ["address", "summary", "timeline"]})
        if shown or (not works_call and free_text):
            uow.commit()
        if not free_text:
            inc, timeline = redact_free_text(inc, timeline)
        return (inc, uow.assignments.for_incident(inc.id), timeline,
                uow.incidents.proposals(inc.id), shown, uow.transfers.for_incidents([inc.id]))


def merge(p: Principal, incident_id: str, into_id: str, *, uow: DispatchUnitOfWork) -> None:
    """Confirm a duplicate: the newer call joins the earlier incident."""
    refuse_self_merge(incident_id, into_id)
    with uow:
        inc = load_incident(uow, p, incident_id, Permission.TAKE_CALLS)
        target = load_incident(uow, p, into_id, Permission.TAKE_CALLS)
        now = uow.clock.now()
        before = incident_of(inc)
        store_incident(uow, before, before.merge_into(incident_of(target), now))
        uow.incidents.decide_proposal(inc.id, target.id, "merged", p.username, now)
        uow.incidents.add_event(inc.id, at=now, kind="merged", actor=p.username, detail={"into": target.id})
        uow.incidents.add_event(target.id, at=now, kind="duplicate_call_merged", actor=p.username,
                                detail={"from": inc.id})
        uow.audit.write(actor=p.username, action="incident_merged", object_type="incident", object_id=inc.id,
                        agency_id=inc.agency_id, detail={"into": target.id})
        uow.emit("jingwu.incidents.merged", {"incident_id": inc.id, "into": target.id})
        uow.commit()


def split(p: Principal, incident_id: str, candidate_id: str, *, uow: DispatchUnitOfWork) -> None:
    """Reject a duplicate proposal: the calls stay separate incidents."""
    with uow:
        inc = load_incident(uow, p, incident_id, Permission.TAKE_CALLS)
        now = uow.clock.now()
        if uow.incidents.decide_proposal(inc.id, candidate_id, "split", p.username, now) == 0:
            raise NotFound("No open duplicate proposal for these two incidents.", code="no_proposal")
        uow.incidents.add_event(inc.id, at=now, kind="kept_separate", actor=p.username,
                                detail={"candidate": candidate_id})
        uow.audit.write(actor=p.username, action="duplicate_split", object_type="incident", object_id=inc.id,
                        agency_id=inc.agency_id, detail={"candidate": candidate_id})
        uow.commit()


def escalate(p: Principal, incident_id: str, level: str, reason: str, *, uow: DispatchUnitOfWork) -> None:
    try:
        lv = Level(level)
    except ValueError:
        raise InvalidInput(f"Unknown level '{level}'.", code="unknown_level")
    if not reason.strip():
        raise InvalidInput("Say why.", code="missing_reason")
    with uow:
        inc = load_incident(uow, p, incident_id, Permission.DISPATCH)
        before = incident_of(inc)
        after = before.escalate(lv)  # only upwards
        now = uow.clock.now()
        store_incident(uow, before, after)
        uow.incidents.add_event(inc.id, at=now, kind="escalated", actor=p.username,
                                detail={"level": lv.value, "reason": reason})
        uow.audit.write(actor=p.username, action="incident_escalated", object_type="incident", object_id=inc.id,
                        agency_id=inc.agency_id, reason=reason, detail={"level": lv.value})
        uow.emit("jingwu.dispatch.incident_escalated", {"incident_id": inc.id, "level": lv.value})
        uow.commit()

