"""Assignments: one-click dispatch (race-safe claim of the unit), the unit status chain
(签收 → 出警 → 到场 → 处置完毕), feedback (反馈) and closing the incident when its units are done."""

from __future__ import annotations

from datetime import datetime

from jingwu.dispatch.domain import (
    STATUS_TIMESTAMP,
    IncidentStatus,
    UnitStatus,
    UnitUnavailable,
    check_transition,
    escalation_level,
)
from jingwu.dispatch.handling import check_send
from jingwu.dispatch.rows import AssignmentRow, IncidentRow
from jingwu.dispatch.services import tap_time
from jingwu.dispatch.services.common import (
    Catalogue,
    incident_of,
    load_incident,
    may_report,
    require_incident,
    store_incident,
)
from jingwu.dispatch.services.intake import emit_recorded
from jingwu.dispatch.services.planning import PlannedRoute, warn_if_closed_short
from jingwu.dispatch.services.sanity import FLAG_NAMES_ZH, Sanity
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Conflict, InvalidInput
from jingwu.platform.org_store import UnitRow


def dispatch_unit(p: Principal, incident_id: str, unit_id: str, *, uow: DispatchUnitOfWork,
                  eta_seconds: float | None = None, route: PlannedRoute | None = None,
                  required: dict[str, int] | None = None, override_reason: str | None = None) -> AssignmentRow:
    """One click: claim the unit (race-safe conditional UPDATE), record the assignment with the route planned
    before this transaction (ETA, line, metres, mode) and the run card's required set. A call handled without
    units (consultation, transfer, duplicate) takes one only with ``override_reason`` (audited)."""
    if route is not None:
        eta_seconds = route.eta_seconds
    with uow:
        inc = load_incident(uow, p, incident_id, Permission.DISPATCH)
        now = uow.clock.now()
        before = incident_of(inc)
        after = before.take_unit(now)  # a closed or merged incident takes no units
        unit = uow.units.get(unit_id)
        p.require(Permission.DISPATCH, unit.agency_path)
        if not unit.active:
            raise UnitUnavailable(f"Unit {unit.call_sign} is deactivated: it is not dispatched.", code="unit_inactive")
        override = check_send(inc.handling, unit.kind, override_reason)
        if not uow.units.claim(unit_id, inc.id, at=now):
            raise UnitUnavailable(f"Unit {unit.call_sign} is no longer available ({unit.status}).")
        aid = uow.assignments.add(incident_id=inc.id, unit_id=unit_id, eta_seconds=eta_seconds, at=now,
                                  by=p.username, route_geojson=route.geojson if route else None,
                                  route_metres=route.metres if route else None,
                                  travel_mode=route.travel_mode if route else None)
        if override:
            uow.audit.write(actor=p.username, action="handling_override", object_type="incident", object_id=inc.id,
                            agency_id=inc.agency_id, reason=(override_reason or "").strip(),
                            detail={"unit_id": unit_id, "handling": inc.handling})
        asgs = uow.assignments.for_incident(inc.id)
        level, why = escalation_level(priority=inc.priority, category=inc.category, deaths=inc.deaths,
                                      injuries=inc.injuries, units_assigned=sum(a.active for a in asgs),
                                      type_code=inc.type_code)
        raised = after.raise_level(level)
        if raised is not after:
            uow.incidents.add_event(inc.id, at=now, kind="escalated", actor="rule",
                                    detail={"level": level.value, "why": why})
        store_incident(uow, before, raised)
        uow.incidents.add_event(inc.id, at=now, kind="dispatched", actor=p.username,
                                detail={"unit_id": unit_id, "call_sign": unit.call_sign, "eta_seconds": eta_seconds,
                                        "route_metres": route.metres if route else None,
                                        "travel_mode": route.travel_mode if route else None,
                                        "required": required or None,
                                        "override_reason": (override_reason or "").strip() if override else None})
        uow.alerts.resolve(kind="ack_timeout", at=now, by=p.username, incident_id=inc.id)
        uow.alerts.resolve(kind="stood_down", at=now, by=p.username, incident_id=inc.id)  # redispatched
        uow.audit.write(actor=p.username, action="unit_dispatched", object_type="incident", object_id=inc.id,
                        agency_id=inc.agency_id, detail={"unit_id": unit_id})
        uow.emit("jingwu.dispatch.unit_dispatched", {"incident_id": inc.id, "unit_id": unit_id,
                                                     "agency_id": inc.agency_id})
        asg = next((a for a in asgs if a.id == aid), None)
        if asg is None:
            raise RuntimeError(f"Assignment {aid} was added but is not found in its transaction.")
        uow.commit()
    return asg



def _previous_times(unit: UnitRow, asg: AssignmentRow | None) -> list[datetime | None]:
    """The times a new tap may not precede: the unit's last status and the assignment's stamps."""
    out: list[datetime | None] = [unit.status_at]
    if asg is not None:
        out += [getattr(asg, col, None) for col in STATUS_TIMESTAMP.values()]
    return out


def report_status(p: Principal, unit_id: str, status: str, *, uow: DispatchUnitOfWork,
                  note: str | None = None, client_at: datetime | None = None,
                  policy: tap_time.TapPolicy | None = None, reason: str | None = None,
                  sanity: Sanity | None = None) -> UnitRow:
    """Move a unit along 签收 → 出警 → 到场 → 处置完毕 (or back to available), each step timed. ``client_at``
    is the tap's own time (a tap queued offline, ADR 0024): once validated it is the stored time ``at``;
    the receipt time ``received_at`` is kept in the event and the audit entry.

    Standing down a dispatched unit (back to available before arrival) needs a ``reason`` (422 missing_reason)
    and raises a ``stood_down`` alert; an arrival is flagged (``Sanity.arrival_flags``) from ``at`` when
    implausible (ADR 0018)."""
    with uow:
        unit = uow.units.get(unit_id)
        may_report(uow, p, unit)
        nxt = check_transition(unit.status, status)
        received_at = uow.clock.now()
        asg = uow.assignments.active_for_unit(unit_id)
        at = tap_time.effective(client_at, now=received_at, previous=_previous_times(unit, asg), policy=policy)
        now = at  # every stamp of this status is the tap's time
        release = nxt == UnitStatus.AVAILABLE
        stand_down = release and asg is not None and unit.status in STAND_DOWN_FROM
        reason = (reason or "").strip() or None
        if stand_down and reason is None:
            raise InvalidInput(f"Standing down {unit.call_sign} before it arrives needs a reason.",
                               code="missing_reason")
        if not uow.units.set_status(unit_id, expect=unit.status, status=nxt.value, at=at,
                                    incident_id=None if release else False, contact_at=received_at):
            raise Conflict("The unit's status changed meanwhile; reload.", code="status_changed")
        timing = {"at": at.isoformat(), "received_at": received_at.isoformat()} if client_at is not None else {}
        if asg is not None:
            inc = require_incident(uow, asg.incident_id)
            col = STATUS_TIMESTAMP.get(nxt)
            if col:
                uow.assignments.stamp(asg.id, **{col: now})
            if release:
                if stand_down:
                    uow.assignments.stamp(asg.id, active=0, cancelled_at=now, stand_down_reason=reason,
                                          stood_down_by=p.username)  # stood down before arrival
                    _stood_down_alert(uow, unit, inc, reason or "", p.username, now)
                else:
                    uow.assignments.stamp(asg.id, active=0)
            if nxt == UnitStatus.ACKNOWLEDGED:
                uow.alerts.resolve(kind="ack_timeout", at=received_at, by=p.username, unit_id=unit_id)
            if nxt == UnitStatus.ON_SCENE:  # the first arrival puts the incident on scene
                here = incident_of(inc)
                store_incident(uow, here, here.unit_arrived(now))
                if sanity is not None:
                    _flag_arrival(uow, sanity, unit, asg, inc, at)
            if nxt == UnitStatus.CLEARED:
                uow.alerts.resolve(kind="officer_safety", at=received_at, by=p.username, unit_id=unit_id)
            uow.incidents.add_event(inc.id, at=now, kind=f"unit_{nxt.value}", actor=p.username,
                                    detail={"unit_id": unit_id, "call_sign": unit.call_sign, "note": note,
                                            **timing, **({"reason": reason} if stand_down else {})})
            if release:
                _settle(uow, inc, now, p.username)
        uow.audit.write(actor=p.username, action="unit_status", object_type="unit", object_id=unit_id,
                        agency_id=unit.agency_id, detail={"from": unit.status, "to": nxt.value, **timing,
                                                          **({"reason": reason} if stand_down else {})})
        uow.emit("jingwu.dispatch.unit_status", {"unit_id": unit_id, "status": nxt.value,
                                                 "incident_id": asg.incident_id if asg else None})
        uow.commit()
        return uow.units.get(unit_id)


def give_feedback(p: Principal, unit_id: str, text: str, *, uow: DispatchUnitOfWork, cat: Catalogue,
                  final_type: str | None = None, client_at: datetime | None = None,
                  policy: tap_time.TapPolicy | None = None) -> None:
    """反馈: the cleared unit reports the outcome (optionally the final nature) and becomes available.
    ``client_at`` as for report_status (ADR 0024)."""
    if not text.strip():
        raise InvalidInput("Feedback text is required.", code="missing_feedback")
    ftype = cat.types.get(final_type) if final_type else None
    with uow:
        unit = uow.units.get(unit_id)
        may_report(uow, p, unit)
        if unit.status != UnitStatus.CLEARED.value:
            raise Conflict("Feedback comes after the unit has cleared the scene.", code="illegal_transition")
        asg = uow.assignments.active_for_unit(unit_id)
        received_at = uow.clock.now()
        at = tap_time.effective(client_at, now=received_at, previous=_previous_times(unit, asg), policy=policy)
        now = at
        timing = {"at": at.isoformat(), "received_at": received_at.isoformat()} if client_at is not None else {}
        if not uow.units.set_status(unit_id, expect=UnitStatus.CLEARED.value, status=UnitStatus.AVAILABLE.value,
                                    at=at, incident_id=None, contact_at=received_at):
            raise Conflict("The unit's status changed meanwhile; reload.", code="status_changed")
        if asg is not None:
            uow.assignments.stamp(asg.id, feedback_at=now, feedback=text, active=0)
            inc = require_incident(uow, asg.incident_id)
            if ftype is not None and ftype.code != inc.type_code:
                uow.incidents.update(inc.id, type_code=ftype.code, category=ftype.category)
                inc = require_incident(uow, inc.id)
                emit_recorded(uow, inc)
            uow.incidents.add_event(inc.id, at=now, kind="feedback", actor=p.username,
                                    detail={"unit_id": unit_id, "text": text, "final_type": final_type, **timing})
            _settle(uow, inc, now, p.username)
        uow.audit.write(actor=p.username, action="unit_feedback", object_type="unit", object_id=unit_id,
                        agency_id=unit.agency_id, detail={"final_type": final_type, **timing})
        uow.emit("jingwu.dispatch.unit_status", {"unit_id": unit_id, "status": "available",
                                                 "incident_id": asg.incident_id if asg else None})
        uow.commit()


STAND_DOWN_FROM = frozenset({UnitStatus.DISPATCHED.value, UnitStatus.ACKNOWLEDGED.value, UnitStatus.EN_ROUTE.value})


def _stood_down_alert(uow: DispatchUnitOfWork, unit: UnitRow, inc: IncidentRow, reason: str, by: str,
                      now: datetime) -> None:
    """A unit was stood down before arrival: the board shows it with a one-click redispatch."""
    uow.alerts.raise_once(kind="stood_down", agency_id=inc.agency_id, incident_id=inc.id, unit_id=unit.id, at=now,
                          message=f"{unit.call_sign} 中止出警：{reason}",
                          detail={"call_sign": unit.call_sign, "reason": reason, "by": by})


def _flag_arrival(uow: DispatchUnitOfWork, sanity: Sanity, unit: UnitRow, asg: AssignmentRow, inc: IncidentRow,
                  at: datetime) -> None:
    """An implausible arrival is accepted, its flags stored on the assignment and shown on the board."""
    flags = sanity.arrival_flags(unit, asg, inc, at)
    if not flags:
        return
    uow.assignments.stamp(asg.id, arrival_flags=",".join(flags))
    names = "、".join(FLAG_NAMES_ZH.get(f, f) for f in flags)
    uow.alerts.raise_once(kind="arrival_flagged", agency_id=inc.agency_id, incident_id=inc.id, unit_id=unit.id,
                          at=at, message=f"{unit.call_sign} 到场存疑：{names}",
                          detail={"call_sign": unit.call_sign, "flags": flags})


def _settle(uow: DispatchUnitOfWork, inc: IncidentRow, now: datetime, actor: str) -> None:
    """A unit was released: the incident closes, goes back to the queue or stays (Incident.settle)."""
    before = incident_of(inc)
    after = before.settle(uow.assignments.for_incident(inc.id), now)
    store_incident(uow, before, after)
    if after.status is IncidentStatus.CLOSED and before.status is not IncidentStatus.CLOSED:
        uow.incidents.add_event(inc.id, at=now, kind="closed", actor=actor)
        warn_if_closed_short(uow, inc, now, actor)
        uow.emit("jingwu.dispatch.incident_closed", {"incident_id": inc.id, "agency_id": inc.agency_id})

