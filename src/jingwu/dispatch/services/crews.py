"""Crews (ADR 0018): an officer signs on to a unit for a shift and signs off. While on the crew the officer
reports for the unit (common.may_report); an officer crews one unit at a time; the demo autopilot leaves
crewed units alone. Every sign-on and sign-off is audited."""

from __future__ import annotations

from datetime import datetime, timedelta

from jingwu.dispatch.crew_store import CrewRow
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Conflict, InvalidInput

MAX_SHIFT = timedelta(hours=24)


def sign_on(p: Principal, unit_id: str, *, uow: DispatchUnitOfWork,
            shift_ends_at: datetime | None = None) -> tuple[CrewRow, bool]:
    """Join the unit's crew; returns (crew row, whether new). Signing on again to the same unit is a no-op."""
    p.require(Permission.REPORT_STATUS)
    if shift_ends_at is not None and shift_ends_at.tzinfo is None:
        raise InvalidInput("shift_ends_at needs a time zone.", code="invalid_shift")
    with uow:
        unit = uow.units.get(unit_id)
        p.require(Permission.REPORT_STATUS, unit.agency_path)
        now = uow.clock.now()
        if shift_ends_at is not None and not (now < shift_ends_at <= now + MAX_SHIFT):
            raise InvalidInput("The shift must end in the future and within 24 hours.", code="invalid_shift")
        if not unit.active:
            raise Conflict(f"Unit {unit.call_sign} is deactivated: nobody signs on to it.", code="unit_inactive")
        uow.crews.close_expired(p.user_id, now)
        mine = uow.crews.of_user(p.user_id, now)
        if mine is not None:
            if mine.unit_id == unit_id:
                return mine, False
            raise Conflict(f"You are on the crew of {mine.call_sign}: sign off there first.",
                           code="on_another_crew")
        cid = uow.crews.add(unit_id=unit_id, user_id=p.user_id, username=p.username, at=now,
                            shift_ends_at=shift_ends_at)
        uow.audit.write(actor=p.username, action="crew_signed_on", object_type="unit", object_id=unit_id,
                        agency_id=unit.agency_id,
                        detail={"crew_id": cid, "shift_ends_at": shift_ends_at.isoformat() if shift_ends_at else None})
        uow.emit("jingwu.dispatch.unit_crew", {"unit_id": unit_id, "agency_id": unit.agency_id})
        row = next(c for c in uow.crews.of_unit(unit_id, now) if c.id == cid)
        uow.commit()
    return row, True


def sign_off(p: Principal, unit_id: str, *, uow: DispatchUnitOfWork) -> None:
    """Leave the unit's crew (404 for an unknown unit, 409 not_on_crew when not on it)."""
    with uow:
        unit = uow.units.get(unit_id)
        now = uow.clock.now()
        mine = uow.crews.of_user(p.user_id, now)
        if mine is None or mine.unit_id != unit_id:
            raise Conflict(f"You are not on the crew of {unit.call_sign}.", code="not_on_crew")
        uow.crews.sign_off(mine.id, at=now, by=p.username)
        uow.audit.write(actor=p.username, action="crew_signed_off", object_type="unit", object_id=unit_id,
                        agency_id=unit.agency_id, detail={"crew_id": mine.id})
        uow.emit("jingwu.dispatch.unit_crew", {"unit_id": unit_id, "agency_id": unit.agency_id})
        uow.commit()


def my_crew(p: Principal, *, uow: DispatchUnitOfWork) -> tuple[CrewRow, list[str]] | None:
    """The caller's crew now (the row and every crew member's username), or None."""
    with uow:
        now = uow.clock.now()
        mine = uow.crews.of_user(p.user_id, now)
        if mine is None:
            return None
        return mine, [c.username for c in uow.crews.of_unit(mine.unit_id, now)]

