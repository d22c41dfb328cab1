"""Supervision tickets (督办): opening or extending a town's ticket when the computation flags it
(inside the computation's transaction), listing and reading tickets in the caller's scope,
assigning, recording actions, closing, and the job that escalates overdue tickets to the parent
agency. Every state change is audited and emitted as an event in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import InvalidInput
from jingwu.platform.org_store import TownRow
from jingwu.platform.uow import SqlUnitOfWork
from jingwu.safety_index.domain import Ticket, TicketAction, TicketStatus
from jingwu.safety_index.services.common import SYSTEM_ACTOR
from jingwu.safety_index.store import repo


def open_or_extend(uow: SqlUnitOfWork, town: TownRow, items: list[tuple[date, str]], now: datetime,
                   deadline_days: int) -> int:
    """Open a ticket for ``town`` with the (day, reason) items, or add the new reasons to its unclosed
    ticket; inside the caller's transaction. Returns 1 when a ticket was opened."""
    r = repo(uow)
    reasons = [reason for _, reason in sorted(items)]
    t = r.open_ticket_for(town.id)
    if t is not None:
        new = [x for x in reasons if x not in t.reasons]
        if new:
            t2 = replace(t, reasons=(*t.reasons, *new))
            r.save_ticket(t2)
            uow.audit.write(actor=SYSTEM_ACTOR, action="safety_index.ticket_reasons_added", object_type="si_ticket",
                            object_id=t.id, agency_id=t.agency_id, detail={"reasons": new})
        return 0
    day = min(d for d, _ in items)
    t = Ticket(id=str(uuid.uuid4()), town_id=town.id, agency_id=town.agency_id, home_agency_id=town.agency_id,
               day=day, reasons=tuple(reasons), status=TicketStatus.OPEN, owner=None, opened_at=now,
               deadline=now + timedelta(days=deadline_days))
    r.add_ticket(t)
    uow.audit.write(actor=SYSTEM_ACTOR, action="safety_index.ticket_opened", object_type="si_ticket",
                    object_id=t.id, agency_id=t.agency_id,
                    detail={"town_id": town.id, "town": town.name, "reasons": list(reasons),
                            "deadline": t.deadline.isoformat()})
    uow.emit("jingwu.safety_index.ticket_opened", {"ticket_id": t.id, "town_id": town.id,
                                                   "agency_id": t.agency_id, "reasons": list(reasons)})
    return 1


def _check_ticket(p: Principal, t: Ticket, uow: SqlUnitOfWork) -> None:
    home = uow.agencies.get(t.home_agency_id).path
    now = uow.agencies.get(t.agency_id).path
    p.require(Permission.ANALYSE, home if p.in_scope(home) else now)


def known_status(status: str | None) -> bool:
    return status is None or status in TicketStatus.__members__.values()


def tickets_in_scope(uow: SqlUnitOfWork, principal: Principal, status: str | None = None) -> list[Ticket]:
    """Tickets whose town's agency or current agency is in the caller's scope (inside an open unit of work)."""
    paths = {a.id: a.path for a in uow.agencies.in_subtree("/")}
    return [t for t in repo(uow).tickets(status=status)
            if principal.in_scope(paths[t.home_agency_id]) or principal.in_scope(paths[t.agency_id])]


def list_tickets(*, principal: Principal, uow: SqlUnitOfWork, status: str | None = None) -> list[Ticket]:
    principal.require(Permission.ANALYSE)
    if not known_status(status):
        raise InvalidInput(f"unknown status {status!r}")
    with uow:
        return tickets_in_scope(uow, principal, status)


def get_ticket(ticket_id: str, *, principal: Principal, uow: SqlUnitOfWork) -> Ticket:
    with uow:
        t = repo(uow).ticket(ticket_id)
        _check_ticket(principal, t, uow)
        return t


def _change(ticket_id: str, principal: Principal, uow: SqlUnitOfWork, action: str,
            fn: Callable[[Ticket], Ticket], detail: dict[str, Any]) -> Ticket:
    with uow:
        r = repo(uow)
        t = r.ticket(ticket_id)
        _check_ticket(principal, t, uow)
        t2 = fn(t)
        r.save_ticket(t2)
        uow.audit.write(actor=principal.username, action=f"safety_index.{action}", object_type="si_ticket",
                        object_id=t.id, agency_id=t2.agency_id,
                        detail={**detail, "status": t2.status.value, "previous_status": t.status.value})
        uow.emit(f"jingwu.safety_index.{action}", {"ticket_id": t.id, "town_id": t.town_id,
                                                   "status": t2.status.value})
        uow.commit()
        return t2


def assign_ticket(ticket_id: str, owner: str, *, principal: Principal, uow: SqlUnitOfWork) -> Ticket:
    return _change(ticket_id, principal, uow, "ticket_assigned", lambda t: t.assign(owner), {"owner": owner})


def add_ticket_action(ticket_id: str, text: str, *, principal: Principal, uow: SqlUnitOfWork) -> Ticket:
    act = TicketAction(uow.clock.now(), principal.username, text)
    return _change(ticket_id, principal, uow, "ticket_action_added", lambda t: t.add_action(act), {"text": text})


def close_ticket(ticket_id: str, closure: str, *, principal: Principal, uow: SqlUnitOfWork) -> Ticket:
    now = uow.clock.now()
    return _change(ticket_id, principal, uow, "ticket_closed", lambda t: t.close(now, closure),
                   {"closure": closure})


def escalate_overdue(*, uow: SqlUnitOfWork) -> list[Ticket]:
    """Job: every unclosed ticket past its deadline moves to the parent agency with a new deadline."""
    out = []
    with uow:
        r = repo(uow)
        now = uow.clock.now()
        for t in r.unclosed_tickets():
            if not t.overdue(now):
                continue
            parent = uow.agencies.get(t.agency_id).parent_id
            t2 = t.escalate(parent)
            r.save_ticket(t2)
            uow.audit.write(actor=SYSTEM_ACTOR, action="safety_index.ticket_escalated", object_type="si_ticket",
                            object_id=t.id, agency_id=t2.agency_id,
                            detail={"level": t2.escalation_level, "from_agency": t.agency_id,
                                    "to_agency": t2.agency_id, "deadline": t2.deadline.isoformat()})
            uow.emit("jingwu.safety_index.ticket_escalated", {"ticket_id": t.id, "agency_id": t2.agency_id,
                                                              "level": t2.escalation_level})
            out.append(t2)
        uow.commit()
    return out
