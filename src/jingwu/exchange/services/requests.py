"""Cooperation requests (evidence collection, arrest assistance, identity or document verification, case
transfer) under an agreement covering ``cooperation_request`` the requester's way: created with a deadline,
accepted or declined, progress, result; the requester may extend or withdraw. Past the deadline nothing
can be accepted or answered. The timer reminds before the deadline and marks overdue requests (escalation)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jingwu.exchange import envelope
from jingwu.exchange.domain import CoopRequest, RequestEvent, RequestKind, RequestStatus
from jingwu.exchange.services.common import (
    SYSTEM_ACTOR,
    Federation,
    actor_of,
    agency_paths,
    agreement_or_404,
    parse_time,
    require_any,
    send,
)
from jingwu.exchange.services.inbound import _payload_str, handler, peer_agreement
from jingwu.exchange.store import repo
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Conflict, Forbidden, InvalidInput, NotFound
from jingwu.platform.uow import SqlUnitOfWork

WORK = (Permission.HANDLE_CASES, Permission.COMMAND)
ACTIONS = ("accept", "decline", "progress", "result", "extend", "withdraw")
_STATUS_AFTER = {"accept": RequestStatus.ACCEPTED, "decline": RequestStatus.DECLINED,
                 "result": RequestStatus.COMPLETED, "withdraw": RequestStatus.WITHDRAWN}


@dataclass(frozen=True)
class NewRequest:
    agreement_id: str
    kind: str
    title: str
    details: str
    deadline: datetime


def create(cmd: NewRequest, *, principal: Principal, uow: SqlUnitOfWork, fed: Federation) -> CoopRequest:
    try:
        kind = RequestKind(cmd.kind)
    except ValueError as exc:
        raise InvalidInput(f"kind must be one of {', '.join(k.value for k in RequestKind)}",
                           code="invalid_kind") from exc
    if not cmd.title.strip():
        raise InvalidInput("a request needs a title", code="invalid_title")
    deadline = parse_time(cmd.deadline, "deadline")
    now = uow.clock.now()
    if deadline <= now:
        raise InvalidInput("the deadline must be in the future", code="invalid_deadline")
    with uow:
        a = agreement_or_404(uow, cmd.agreement_id)
        a.require_in_force(now)
        paths = agency_paths(uow)
        if principal.in_scope(paths[a.agency_id]):
            terms, ours, theirs = a.outgoing, a.agency_id, a.partner_agency_id
        elif a.partner_agency_id and principal.in_scope(paths[a.partner_agency_id]):
            terms, ours, theirs = a.incoming, a.partner_agency_id, a.agency_id
        else:
            raise Forbidden("This agreement belongs to agencies outside your scope.", code="out_of_scope")
        require_any(principal, WORK)
        if "cooperation_request" not in terms:
            raise Conflict("the agreement does not cover cooperation requests this way", code="not_in_agreement")
        req = CoopRequest(id=str(uuid.uuid4()), agreement_id=a.id, kind=kind, title=cmd.title.strip(),
                          details=cmd.details.strip(), outgoing=True, agency_id=ours, partner_agency_id=theirs,
                          peer_id=a.peer_id, deadline=deadline, status=RequestStatus.OPEN, created_at=now,
                          created_by=actor_of(principal))
        r = repo(uow)
        r.add_request(req)
        r.add_request_event(req.id, RequestEvent(now, actor_of(principal), "created", req.title))
        for ag in {ours} | ({theirs} if theirs else set()):
            uow.audit.write(actor=actor_of(principal), action="exchange.request_created", object_type="xc_request",
                            object_id=req.id, agency_id=ag,
                            detail={"kind": kind.value, "deadline": deadline.isoformat(), "to": a.peer_id or theirs})
        if a.peer_id:
            send(uow, fed, peer_id=a.peer_id, type_="request.created", now=now, payload={
                "request_id": req.id, "agreement_id": a.id, "kind": kind.value, "title": req.title,
                "details": req.details, "deadline": envelope.utc_text(deadline)})
        uow.commit()
    return req


def _sides(req: CoopRequest, paths: dict[str, str], p: Principal) -> tuple[bool, bool]:
    """(the caller acts for the requester, the caller acts for the requested side)."""
    ours = p.in_scope(paths[req.agency_id])
    other = bool(req.partner_agency_id) and p.in_scope(paths[req.partner_agency_id or ""])
    if req.outgoing:
        return ours, other
    return other, ours


def _apply(uow: SqlUnitOfWork, req: CoopRequest, action: str, text: str, actor: str, at: datetime,
           *, deadline: datetime | None = None) -> CoopRequest:
    """One action on a request (checked), its event, and the new state; in the caller's transaction."""
    if action in ("accept", "decline", "progress", "result"):
        req.require_open_for(action, at)
        if action == "accept" and req.status is not RequestStatus.OPEN:
            raise Conflict(f"request is {req.status.value}", code="request_not_open")
        if action in ("progress", "result") and req.status is not RequestStatus.ACCEPTED:
            raise Conflict("accept the request first", code="request_not_accepted")
        if action in ("decline", "result") and not text.strip():
            raise InvalidInput(f"{action} needs a text", code="invalid_text")
    elif action in ("extend", "withdraw"):
        if req.status in (RequestStatus.DECLINED, RequestStatus.COMPLETED, RequestStatus.WITHDRAWN):
            raise Conflict(f"request is {req.status.value}", code="request_closed")
        if action == "extend" and (deadline is None or deadline <= max(at, req.deadline)):
            raise InvalidInput("a new deadline must be later than now and the current deadline",
                               code="invalid_deadline")
    else:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}", code="invalid_action")
    values: dict[str, Any] = {}
    if action in _STATUS_AFTER:
        values["status"] = _STATUS_AFTER[action]
    if action in ("decline", "result"):
        values.update(result=text.strip(), answered_at=at)
    if action == "extend":
        values.update(deadline=deadline, overdue_at=None, reminded_at=None)
    r = repo(uow)
    if values:
        r.update_request(req.id, **values)
    r.add_request_event(req.id, RequestEvent(at, actor, action if action != "extend" else "extended",
                                             text.strip() or (deadline.isoformat() if deadline else "")))
    got = r.request(req.id)
    assert got is not None
    return got


def act(request_id: str, action: str, text: str = "", *, principal: Principal, uow: SqlUnitOfWork,
        fed: Federation, deadline: datetime | None = None) -> CoopRequest:
    if deadline is not None:
        deadline = parse_time(deadline, "deadline")
    now = uow.clock.now()
    with uow:
        req = repo(uow).request(request_id, lock=True)
        if req is None:
            raise NotFound(f"request {request_id} does not exist", code="request_not_found")
        paths = agency_paths(uow)
        requester, requested = _sides(req, paths, principal)
        if action in ("extend", "withdraw") and not requester:
            raise Forbidden("only the requesting side may extend or withdraw", code="not_requester")
        if action in ("accept", "decline", "progress", "result") and not requested:
            raise Forbidden("only the requested side may answer", code="not_requested_side")
        require_any(principal, WORK)
        got = _apply(uow, req, action, text, actor_of(principal), now, deadline=deadline)
        for ag in {req.agency_id} | ({req.partner_agency_id} if req.partner_agency_id else set()):
            uow.audit.write(actor=actor_of(principal), action=f"exchange.request_{action}", object_type="xc_request",
                            object_id=req.id, agency_id=ag, detail={"text": text[:500], "status": got.status.value})
        if req.peer_id:
            payload: dict[str, Any] = {"request_id": req.id, "agreement_id": req.agreement_id, "action": action,
                                       "text": text.strip()}
            if deadline is not None:
                payload["deadline"] = envelope.utc_text(deadline)
            send(uow, fed, peer_id=req.peer_id, type_="request.updated", now=now, payload=payload)
        uow.commit()
    return got


def list_requests(*, principal: Principal, uow: SqlUnitOfWork) -> list[CoopRequest]:
    require_any(principal, WORK)
    with uow:
        paths = agency_paths(uow)
        return [q for q in repo(uow).requests()
                if principal.in_scope(paths[q.agency_id])
                or (q.partner_agency_id and principal.in_scope(paths[q.partner_agency_id]))]


def get_request(request_id: str, *, principal: Principal, uow: SqlUnitOfWork) -> CoopRequest:
    require_any(principal, WORK)
    with uow:
        q = repo(uow).request(request_id)
        paths = agency_paths(uow)
        if q is None or not (principal.in_scope(paths[q.agency_id]) or
                             (q.partner_agency_id and principal.in_scope(paths[q.partner_agency_id]))):
            raise NotFound(f"request {request_id} does not exist", code="request_not_found")
        return q


def tick(*, uow: SqlUnitOfWork, reminder: timedelta) -> dict[str, int]:
    """Reminders before the deadline and overdue marks after it (each once), audited and emitted."""
    now = uow.clock.now()
    counts = {"reminded": 0, "overdue": 0}
    with uow:
        r = repo(uow)
        for q in r.requests(open_only=True):
            if q.past_deadline(now):
                if q.overdue_at is None:
                    r.update_request(q.id, overdue_at=now)
                    r.add_request_event(q.id, RequestEvent(now, SYSTEM_ACTOR, "overdue", ""))
                    uow.audit.write(actor=SYSTEM_ACTOR, action="exchange.request_overdue", object_type="xc_request",
                                    object_id=q.id, agency_id=q.agency_id,
                                    detail={"deadline": q.deadline.isoformat(), "status": q.status.value})
                    uow.emit("jingwu.exchange.request_overdue", {"request_id": q.id, "agency_id": q.agency_id,
                                                                 "deadline": q.deadline.isoformat()})
                    counts["overdue"] += 1
            elif q.reminded_at is None and now >= q.deadline - reminder:
                r.update_request(q.id, reminded_at=now)
                r.add_request_event(q.id, RequestEvent(now, SYSTEM_ACTOR, "reminder", ""))
                uow.audit.write(actor=SYSTEM_ACTOR, action="exchange.request_reminder", object_type="xc_request",
                                object_id=q.id, agency_id=q.agency_id, detail={"deadline": q.deadline.isoformat()})
                counts["reminded"] += 1
        uow.commit()
    return counts


# ------------------------------------------------------------------ from a peer


@handler("request.created")
def _created(uow: SqlUnitOfWork, msg: envelope.Checked, actor: str) -> None:
    a = peer_agreement(uow, msg)
    if not (a.status.value == "active" and a.valid_from <= msg.created_at < a.valid_to):
        raise Conflict(f"agreement {a.id} was not in force", code="agreement_not_in_force")
    if "cooperation_request" not in a.incoming:
        raise Conflict("the agreement does not cover cooperation requests this way", code="not_in_agreement")
    p = msg.payload
    rid = _payload_str(p, "request_id")
    if repo(uow).request(rid) is not None:
        raise Conflict(f"request {rid} exists", code="request_exists")
    try:
        kind = RequestKind(_payload_str(p, "kind"))
    except ValueError as exc:
        raise InvalidInput("unknown request kind", code="invalid_payload") from exc
    req = CoopRequest(id=rid, agreement_id=a.id, kind=kind, title=_payload_str(p, "title"),
                      details=str(p.get("details") or ""), outgoing=False, agency_id=a.agency_id,
                      partner_agency_id=None, peer_id=msg.peer, deadline=parse_time(p.get("deadline"), "deadline"),
                      status=RequestStatus.OPEN, created_at=msg.created_at, created_by=actor)
    repo(uow).add_request(req)
    repo(uow).add_request_event(rid, RequestEvent(uow.clock.now(), actor, "created", req.title))
    uow.audit.write(actor=actor, action="exchange.request_created", object_type="xc_request", object_id=rid,
                    agency_id=a.agency_id, detail={"kind": kind.value, "deadline": req.deadline.isoformat(),
                                                   "msg_id": msg.id})


@handler("request.updated")
def _updated(uow: SqlUnitOfWork, msg: envelope.Checked, actor: str) -> None:
    p = msg.payload
    req = repo(uow).request(_payload_str(p, "request_id"), lock=True)
    if req is None or req.peer_id != msg.peer:
        raise Conflict("no request with this peer under that id", code="unknown_request")
    action = _payload_str(p, "action")
    # the sender may only do what its side may do
    if req.outgoing and action not in ("accept", "decline", "progress", "result"):
        raise Conflict(f"the requested side cannot {action}", code="not_requested_side")
    if not req.outgoing and action not in ("extend", "withdraw"):
        raise Conflict(f"the requesting side cannot {action}", code="not_requester")
    deadline = parse_time(p["deadline"], "deadline") if p.get("deadline") else None
    # timed by when the peer acted (its signed created_at), so a delayed delivery is not held against it
    got = _apply(uow, req, action, str(p.get("text") or ""), actor, msg.created_at, deadline=deadline)
    uow.audit.write(actor=actor, action=f"exchange.request_{action}", object_type="xc_request", object_id=req.id,
                    agency_id=req.agency_id, detail={"msg_id": msg.id, "status": got.status.value})
