"""Sharing agreements: proposed by one side (its approval included), approved by the other (a user of the
partner agency, or the peer deployment's signed ``agreement.approved``), revoked by either side; and
sharing a record under an agreement in force, with every field outside the agreement stripped before it
leaves and the share audited on both sides."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from jingwu.exchange import envelope
from jingwu.exchange.domain import (
    Agreement,
    AgreementStatus,
    check_peer_id,
    check_record,
    check_terms,
    check_window,
    personal_fields,
    record_to_payload,
    strip_record,
)
from jingwu.exchange.services.common import (
    Federation,
    actor_of,
    agency_paths,
    agreement_or_404,
    require_any,
    send,
)
from jingwu.exchange.store import repo
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import Conflict, Forbidden, InvalidInput, NotFound
from jingwu.platform.uow import SqlUnitOfWork

APPROVE = (Permission.COMMAND,)
SHARE = (Permission.COMMAND, Permission.DISPATCH, Permission.HANDLE_CASES, Permission.ANALYSE)


@dataclass(frozen=True)
class Propose:
    agency_code: str
    outgoing: dict[str, Any]
    incoming: dict[str, Any]
    purpose: str
    valid_from: datetime
    valid_to: datetime
    partner_agency_code: str | None = None  # an agency of this deployment, or
    peer_id: str | None = None  # another deployment, with
    peer_agency_code: str | None = None  # its agency's code there
    peer_agency_name: str | None = None


def _agency(uow: SqlUnitOfWork, code: str, what: str) -> Any:
    a = uow.agencies.by_code(code)
    if a is None or not a.active:
        raise InvalidInput(f"{what} {code!r} is not an active agency here", code="unknown_agency")
    return a


def propose(cmd: Propose, *, principal: Principal, uow: SqlUnitOfWork, fed: Federation) -> Agreement:
    out_terms = check_terms(cmd.outgoing, "outgoing")
    in_terms = check_terms(cmd.incoming, "incoming")
    if not out_terms and not in_terms:
        raise InvalidInput("an agreement needs terms in at least one direction", code="invalid_terms")
    if not cmd.purpose.strip():
        raise InvalidInput("an agreement needs a purpose", code="invalid_purpose")
    check_window(cmd.valid_from, cmd.valid_to)
    if bool(cmd.partner_agency_code) == bool(cmd.peer_id):
        raise InvalidInput("name either partner_agency_code (this deployment) or peer_id (another one)",
                           code="invalid_partner")
    if personal_fields({**out_terms, **in_terms}) and len(cmd.purpose.strip()) < 10:
        raise InvalidInput("personal fields are agreed only with a stated purpose (10 characters at least)",
                           code="invalid_purpose")
    now = uow.clock.now()
    with uow:
        ours = _agency(uow, cmd.agency_code, "agency")
        require_any(principal, APPROVE, ours.path)
        partner_id = None
        if cmd.partner_agency_code:
            partner = _agency(uow, cmd.partner_agency_code, "partner agency")
            if partner.id == ours.id:
                raise InvalidInput("an agreement needs two different agencies", code="invalid_partner")
            partner_id, partner_name = partner.id, partner.name
        else:
            check_peer_id(cmd.peer_id or "")
            if not cmd.peer_agency_code:
                raise InvalidInput("peer_agency_code names the partner agency in the peer deployment",
                                   code="invalid_partner")
            if repo(uow).peer(cmd.peer_id or "") is None:
                raise InvalidInput(f"peer {cmd.peer_id!r} is not configured here", code="unknown_peer")
            partner_name = f"{cmd.peer_agency_name or cmd.peer_agency_code} ({cmd.peer_id})"
        a = Agreement(id=str(uuid.uuid4()), agency_id=ours.id, partner_agency_id=partner_id, peer_id=cmd.peer_id,
                      partner_name=partner_name, outgoing=out_terms, incoming=in_terms, purpose=cmd.purpose.strip(),
                      valid_from=cmd.valid_from, valid_to=cmd.valid_to, status=AgreementStatus.PROPOSED,
                      created_at=now, created_by=actor_of(principal), local_approved_by=actor_of(principal),
                      local_approved_at=now)
        repo(uow).add_agreement(a)
        detail = {"partner": partner_name, "outgoing": out_terms, "incoming": in_terms, "purpose": a.purpose,
                  "valid_from": a.valid_from.isoformat(), "valid_to": a.valid_to.isoformat()}
        uow.audit.write(actor=actor_of(principal), action="exchange.agreement_proposed", object_type="xc_agreement",
                        object_id=a.id, agency_id=ours.id, detail=detail)
        if partner_id:
            uow.audit.write(actor=actor_of(principal), action="exchange.agreement_proposed",
                            object_type="xc_agreement", object_id=a.id, agency_id=partner_id, detail=detail)
        else:
            send(uow, fed, peer_id=cmd.peer_id or "", type_="agreement.proposed", now=now, payload={
                "agreement_id": a.id, "from_agency": {"code": ours.code, "name": ours.name},
                "to_agency_code": cmd.peer_agency_code, "outgoing": out_terms, "incoming": in_terms,
                "purpose": a.purpose, "valid_from": envelope.utc_text(a.valid_from),
                "valid_to": envelope.utc_text(a.valid_to)})
        uow.commit()
    return a


def approve(agreement_id: str, *, principal: Principal, uow: SqlUnitOfWork, fed: Federation) -> Agreement:
    now = uow.clock.now()
    with uow:
        a = agreement_or_404(uow, agreement_id, lock=True)
        if a.status is not AgreementStatus.PROPOSED:
            raise Conflict(f"agreement is {a.status.value}", code="agreement_not_proposed")
        paths = agency_paths(uow)
        values: dict[str, Any] = {}
        if a.partner_agency_id and a.partner_approved_by is None and principal.in_scope(paths[a.partner_agency_id]) \
                and not principal.in_scope(paths[a.agency_id]):
            require_any(principal, APPROVE, paths[a.partner_agency_id])
            values = {"partner_approved_by": actor_of(principal), "partner_approved_at": now}
            side = a.partner_agency_id
        elif a.local_approved_by is None:
            require_any(principal, APPROVE, paths[a.agency_id])
            values = {"local_approved_by": actor_of(principal), "local_approved_at": now}
            side = a.agency_id
        else:
            raise Forbidden("your side already approved; the other side must approve", code="already_approved")
        a = replace(a, **values)
        if a.local_approved_by and a.partner_approved_by:
            values["status"] = AgreementStatus.ACTIVE
            a = replace(a, status=AgreementStatus.ACTIVE)
        repo(uow).update_agreement(a.id, **values)
        for ag in {side, a.agency_id} | ({a.partner_agency_id} if a.partner_agency_id else set()):
            uow.audit.write(actor=actor_of(principal), action="exchange.agreement_approved",
                            object_type="xc_agreement", object_id=a.id, agency_id=ag,
                            detail={"status": a.status.value})
        if a.peer_id:
            send(uow, fed, peer_id=a.peer_id, type_="agreement.approved", now=now,
                 payload={"agreement_id": a.id, "by": actor_of(principal)})
        uow.commit()
    return a


def revoke(agreement_id: str, reason: str, *, principal: Principal, uow: SqlUnitOfWork,
           fed: Federation) -> Agreement:
    if not reason.strip():
        raise InvalidInput("a revocation needs a reason", code="invalid_reason")
    now = uow.clock.now()
    with uow:
        a = agreement_or_404(uow, agreement_id, lock=True)
        paths = agency_paths(uow)
        mine = [paths[a.agency_id]] + ([paths[a.partner_agency_id]] if a.partner_agency_id else [])
        if not any(principal.in_scope(x) for x in mine):
            raise Forbidden("This agreement belongs to agencies outside your scope.", code="out_of_scope")
        require_any(principal, APPROVE)
        if a.status is AgreementStatus.REVOKED:
            raise Conflict("agreement is already revoked", code="agreement_revoked")
        repo(uow).update_agreement(a.id, status=AgreementStatus.REVOKED, revoked_at=now, revoked_by=actor_of(principal),
                                   revoke_reason=reason.strip())
        for ag in {a.agency_id} | ({a.partner_agency_id} if a.partner_agency_id else set()):
            uow.audit.write(actor=actor_of(principal), action="exchange.agreement_revoked", object_type="xc_agreement",
                            object_id=a.id, agency_id=ag, reason=reason.strip())
        if a.peer_id:
            send(uow, fed, peer_id=a.peer_id, type_="agreement.revoked", now=now,
                 payload={"agreement_id": a.id, "reason": reason.strip()})
        uow.commit()
        return replace(a, status=AgreementStatus.REVOKED, revoked_at=now, revoked_by=actor_of(principal),
                       revoke_reason=reason.strip())


def list_agreements(*, principal: Principal, uow: SqlUnitOfWork) -> list[Agreement]:
    require_any(principal, SHARE + APPROVE)
    with uow:
        paths = agency_paths(uow)
        return [a for a in repo(uow).agreements()
                if principal.in_scope(paths[a.agency_id])
                or (a.partner_agency_id and principal.in_scope(paths[a.partner_agency_id]))]


def get_agreement(agreement_id: str, *, principal: Principal, uow: SqlUnitOfWork) -> Agreement:
    for a in list_agreements(principal=principal, uow=uow):
        if a.id == agreement_id:
            return a
    raise NotFound(f"agreement {agreement_id} does not exist", code="agreement_not_found")


# ------------------------------------------------------------------ sharing records


@dataclass(frozen=True)
class Shared:
    share_id: int
    sent: dict[str, Any]
    stripped: list[str]
    msg_id: str | None


def share(agreement_id: str, record_type: str, record: dict[str, Any], *, principal: Principal,
          uow: SqlUnitOfWork, fed: Federation) -> Shared:
    """Share one record under an agreement in force: only the agreed fields leave; both sides audit it."""
    if not isinstance(record, dict) or not record:
        raise InvalidInput("record must be a non-empty object", code="invalid_record")
    now = uow.clock.now()
    with uow:
        a = agreement_or_404(uow, agreement_id)
        a.require_in_force(now)
        paths = agency_paths(uow)
        if principal.in_scope(paths[a.agency_id]):
            terms, sender, receiver = a.outgoing, a.agency_id, a.partner_agency_id
        elif a.partner_agency_id and principal.in_scope(paths[a.partner_agency_id]):
            terms, sender, receiver = a.incoming, a.partner_agency_id, a.agency_id
        else:
            raise Forbidden("This agreement belongs to agencies outside your scope.", code="out_of_scope")
        require_any(principal, SHARE)
        allowed = terms.get(record_type)
        if allowed is None:
            raise Conflict(f"the agreement does not cover sending {record_type!r} records this way",
                           code="not_in_agreement")
        check_record(record_type, record)
        kept, stripped = strip_record(record, allowed)
        if "id" in allowed and "id" not in kept:
            raise InvalidInput(f"a {record_type} record needs its id", code="invalid_record")
        msg_id = None
        actor = actor_of(principal)
        if a.peer_id:
            sender_code = uow.agencies.get(sender).code
            payload = record_to_payload(record_type, kept, owner=f"{fed.require()}/{sender_code}",
                                        sent_at=envelope.utc_text(now))
            msg_id = send(uow, fed, peer_id=a.peer_id, type_="record.shared", now=now,
                          payload={"agreement_id": a.id, "record_type": record_type, "record": payload})
        sid = repo(uow).add_share(agreement_id=a.id, direction="out", record_type=record_type,
                                  record_id=str(kept.get("id")) if "id" in kept else None, agency_id=sender,
                                  partner_agency_id=receiver, peer_id=a.peer_id, fields=kept, stripped=stripped,
                                  msg_id=msg_id, at=now, actor=actor)
        detail = {"record_type": record_type, "record_id": kept.get("id"), "fields": sorted(kept),
                  "stripped": stripped, "to": a.peer_id or receiver, "msg_id": msg_id}
        uow.audit.write(actor=actor, action="exchange.record_sent", object_type="xc_share", object_id=str(sid),
                        agency_id=sender, detail=detail)
        if receiver:  # the other side of this deployment: its own entry
            uow.audit.write(actor=actor, action="exchange.record_received", object_type="xc_share",
                            object_id=str(sid), agency_id=receiver, detail=detail)
        uow.commit()
    return Shared(sid, kept, stripped, msg_id)


def get_share(share_id: int, *, principal: Principal, uow: SqlUnitOfWork) -> dict[str, Any]:
    """One shared record in the caller's scope (sent or received); the read is audited."""
    require_any(principal, SHARE)
    with uow:
        ids = {a.id for a in uow.agencies.in_subtree(principal.agency_path)}
        got = [r for r in repo(uow).shares(agency_ids=ids, limit=100_000) if r["id"] == share_id]
        if not got:
            raise NotFound(f"shared record {share_id} does not exist", code="share_not_found")
        uow.audit.write(actor=actor_of(principal), action="exchange.shares_read", object_type="xc_share",
                        object_id=str(share_id), agency_id=principal.agency_id, detail={"count": 1})
        uow.commit()
    return got[0]


def list_shares(*, principal: Principal, uow: SqlUnitOfWork, record_type: str | None = None,
                direction: str | None = None, received_only: bool = False) -> list[dict[str, Any]]:
    """Shared records in the caller's scope (``received_only``: those that reached the caller's agencies, from
    a peer or from another agency here); the read is audited (records may carry agreed personal fields)."""
    require_any(principal, SHARE)
    with uow:
        ids = {a.id for a in uow.agencies.in_subtree(principal.agency_path)}
        rows = repo(uow).shares(agency_ids=ids, record_type=record_type, direction=direction)
        if received_only:
            rows = [r for r in rows if r["direction"] == "in" or r["partner_agency_id"] in ids]
        uow.audit.write(actor=actor_of(principal), action="exchange.shares_read", object_type="xc_share",
                        agency_id=principal.agency_id,
                        detail={"count": len(rows), "ids": [r["id"] for r in rows][:200]})
        uow.commit()
    return rows
