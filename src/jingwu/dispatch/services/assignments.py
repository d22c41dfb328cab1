"""Assignments: one-click dispatch (race-safe claim of the unit), the unit status chain
(签收 → 出警 → 到场 → 处置完毕), feedback (反馈) and closing the incident when its units are done."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jingwu.dispatch.domain import (
    LEVEL_ORDER,
    OPEN_STATUSES,
    STATUS_TIMESTAMP,
    IncidentStatus,
    Level,
    UnitStatus,
    UnitUnavailable,
    check_transition,
    escalation_level,
)
from jingwu.dispatch.services.common import Catalogue, load_incident, may_report
from jingwu.dispatch.services.intake import recorded_payload
from jingwu.dispatch.store import (
    AssignmentRow,
    DispatchUnitOfWork,
    IncidentRow,
)
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Conflict, InvalidInput
from jingwu.platform.store import UnitRow


def dispatch_unit(p: Principal, incident_id: str, unit_id: str, *, uow: DispatchUnitOfWork,
                  eta_seconds: float | None = None) -> AssignmentRow:
    """One click: claim the unit (race-safe conditional UPDATE), record the assignment."""
    with uow:
        inc = load_incident(uow, p, incident_id, Permission.DISPATCH)
        if inc.status not in {s.value for s in OPEN_STATUSES}:
            raise Conflict(f"Incident is {inc.status}; it cannot take units.", code="incident_closed")
        unit = uow.units.get(unit_id)
        p.require(Permission.DISPATCH, unit.agency_path)
        now = uow.clock.now()
        if not uow.units.claim(unit_id, inc.id, at=now):
            raise UnitUnavailable(f"Unit {unit.call_sign} is no longer available ({unit.status}).")
        aid = uow.assignments.add(incident_id=inc.id, unit_id=unit_id, eta_seconds=eta_seconds, at=now,
                                  by=p.username)
        values: dict[str, Any] = {}
        if inc.status == IncidentStatus.OPEN.value:
            values.update(status=IncidentStatus.DISPATCHED.value, dispatched_at=now)
        n_units = len([a for a in uow.assignments.for_incident(inc.id) if a.active])
        level, why = escalation_level(priority=inc.priority, category=inc.category, deaths=inc.deaths,
                                      injuries=inc.injuries, units_assigned=n_units, type_code=inc.type_code)
        if LEVEL_ORDER[level] > LEVEL_ORDER[Level(inc.level)]:
            values["level"] = level.value
            uow.incidents.add_event(inc.id, at=now, kind="escalated", actor="rule",
                                    detail={"level": level.value, "why": why})
        if values:
            uow.incidents.update(inc.id, **values)
        uow.incidents.add_event(inc.id, at=now, kind="dispatched", actor=p.username,
                                detail={"unit_id": unit_id, "call_sign": unit.call_sign, "eta_seconds": eta_seconds})
        uow.alerts.resolve(kind="ack_timeout", at=now, by=p.username, incident_id=inc.id)
        uow.audit.write(actor=p.username, action="unit_dispatched", object_type="incident", object_id=inc.id,
                        agency_id=inc.agency_id, detail={"unit_id": unit_id})
        uow.emit("jingwu.dispatch.unit_dispatched", {"incident_id": inc.id, "unit_id": unit_id,
                                                     "agency_id": inc.agency_id})
        uow.commit()
        asg = uow.assignments.active_for_unit(unit_id)
    assert asg is not None and asg.id == aid
    return asg



def report_status(p: Principal, unit_id: str, status: str, *, uow: DispatchUnitOfWork,
                  note: str | None = None) -> UnitRow:
    """Move a unit along 签收 → 出警 → 到场 → 处置完毕 (or back to available), each step timed."""
    with uow:
        unit = uow.units.get(unit_id)
        may_report(p, unit)
        nxt = check_transition(unit.status, status)
        now = uow.clock.now()
        asg = uow.assignments.active_for_unit(unit_id)
        release = nxt == UnitStatus.AVAILABLE
        if not uow.units.set_status(unit_id, expect=unit.status, status=nxt.value, at=now,
                                    incident_id=None if release else False):
            raise Conflict("The unit's status changed meanwhile; reload.", code="status_changed")
        if asg is not None:
            inc = uow.incidents.get(asg.incident_id)
            assert inc is not None
            col = STATUS_TIMESTAMP.get(nxt)
            if col:
                uow.assignments.stamp(asg.id, **{col: now})
            if release:
                if unit.status in (UnitStatus.DISPATCHED.value, UnitStatus.ACKNOWLEDGED.value,
                                   UnitStatus.EN_ROUTE.value):
                    uow.assignments.stamp(asg.id, active=0, cancelled_at=now)  # stood down before arrival
                else:
                    uow.assignments.stamp(asg.id, active=0)
            if nxt == UnitStatus.ACKNOWLEDGED:
                uow.alerts.resolve(kind="ack_timeout", at=now, by=p.username, unit_id=unit_id)
            if nxt == UnitStatus.ON_SCENE and inc.arrived_at is None:
                uow.incidents.update(inc.id, arrived_at=now, status=IncidentStatus.ON_SCENE.value)
            if nxt == UnitStatus.CLEARED:
                uow.alerts.resolve(kind="officer_safety", at=now, by=p.username, unit_id=unit_id)
            uow.incidents.add_event(inc.id, at=now, kind=f"unit_{nxt.value}", actor=p.username,
                                    detail={"unit_id": unit_id, "call_sign": unit.call_sign, "note": note})
            if release:
                _maybe_close(uow, inc, now, p.username)
        uow.audit.write(actor=p.username, action="unit_status", object_type="unit", object_id=unit_id,
                        agency_id=unit.agency_id, detail={"from": unit.status, "to": nxt.value})
        uow.emit("jingwu.dispatch.unit_status", {"unit_id": unit_id, "status": nxt.value,
                                                 "incident_id": asg.incident_id if asg else None})
        uow.commit()
        return uow.units.get(unit_id)


def give_feedback(p: Principal, unit_id: str, text: str, *, uow: DispatchUnitOfWork, cat: Catalogue,
                  final_type: str | None = None) -> None:
    """反馈: the cleared unit reports the outcome (optionally the final nature) and becomes available."""
    if not text.strip():
        raise InvalidInput("Feedback text is required.", code="missing_feedback")
    ftype = cat.types.get(final_type) if final_type else None
    with uow:
        unit = uow.units.get(unit_id)
        may_report(p, unit)
        if unit.status != UnitStatus.CLEARED.value:
            raise Conflict("Feedback comes after the unit has cleared the scene.", code="illegal_transition")
        asg = uow.assignments.active_for_unit(unit_id)
        now = uow.clock.now()
        if not uow.units.set_status(unit_id, expect=UnitStatus.CLEARED.value, status=UnitStatus.AVAILABLE.value,
                                    at=now, incident_id=None):
            raise Conflict("The unit's status changed meanwhile; reload.", code="status_changed")
        if asg is not None:
            uow.assignments.stamp(asg.id, feedback_at=now, feedback=text, active=0)
            inc = uow.incidents.get(asg.incident_id)
            assert inc is not None
            if ftype is not None and ftype.code != inc.type_code:
                uow.incidents.update(inc.id, type_code=ftype.code, category=ftype.category)
                inc = uow.incidents.get(inc.id)
                assert inc is not None
                uow.emit("jingwu.incidents.recorded", recorded_payload(inc))
            uow.incidents.add_event(inc.id, at=now, kind="feedback", actor=p.username,
                                    detail={"unit_id": unit_id, "text": text, "final_type": final_type})
            _maybe_close(uow, inc, now, p.username)
        uow.audit.write(actor=p.username, action="unit_feedback", object_type="unit", object_id=unit_id,
                        agency_id=unit.agency_id, detail={"final_type": final_type})
        uow.emit("jingwu.dispatch.unit_status", {"unit_id": unit_id, "status": "available",
                                                 "incident_id": asg.incident_id if asg else None})
        uow.commit()


def _maybe_close(uow: DispatchUnitOfWork, inc: IncidentRow, now: datetime, actor: str) -> None:
    """Close the incident once no unit is active on it and at least one gave feedback."""
    asgs = uow.assignments.for_incident(inc.id)
    if any(a.active for a in asgs):
        return
    if any(a.feedback_at for a in asgs):
        uow.incidents.update(inc.id, status=IncidentStatus.CLOSED.value, closed_at=now)
        uow.incidents.add_event(inc.id, at=now, kind="closed", actor=actor)
        uow.emit("jingwu.dispatch.incident_closed", {"incident_id": inc.id, "agency_id": inc.agency_id})
    elif all(a.cancelled_at for a in asgs):
        uow.incidents.update(inc.id, status=IncidentStatus.OPEN.value)  # every unit stood down: back in queue

