"""Receiving a federation message (from NATS or a webhook): verified (version, addressee, peer, key,
signature, replay window), then applied with its message id recorded in one transaction, so a message is
applied at most once however often it arrives. A refused message is logged, audited and recorded, and
nothing of it is applied; a duplicate (same id, same content) is acknowledged and ignored."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jingwu.exchange import envelope
from jingwu.exchange.domain import (
    Agreement,
    AgreementStatus,
    check_record,
    check_terms,
    payload_to_record,
    strip_record,
)
from jingwu.exchange.services.common import SYSTEM_ACTOR, Federation, parse_time
from jingwu.exchange.store import repo
from jingwu.platform.errors import AppError, Conflict, InvalidInput
from jingwu.platform.uow import SqlUnitOfWork

log = logging.getLogger("jingwu.exchange")

Apply = Callable[[SqlUnitOfWork, envelope.Checked, str], None]  # (uow, message, actor)
HANDLERS: dict[str, Apply] = {}


def handler(type_: str) -> Callable[[Apply], Apply]:
    def deco(fn: Apply) -> Apply:
        HANDLERS[type_] = fn
        return fn
    return deco


@dataclass(frozen=True)
class Outcome:
    status: str  # applied | duplicate | refused
    msg_id: str | None
    code: str | None = None
    message: str | None = None


def receive(raw: bytes | str | dict[str, Any], *, transport: str, uow_factory: Callable[[], SqlUnitOfWork],
            fed: Federation) -> Outcome:
    """Verify and apply one envelope. Raises only on a transient failure (the database), so the transport
    can deliver it again; every refusal is returned (and recorded)."""
    env: dict[str, Any] = {}
    try:
        me = fed.require()
        env = envelope.parse(raw)
        uow = uow_factory()
        with uow:
            keys = repo(uow).peer_keys(env["peer"]) if isinstance(env.get("peer"), str) else None
            msg = envelope.verify(env, me=me, peer_keys=keys, now=uow.clock.now(), max_age=fed.max_age,
                                  max_skew=fed.max_skew)
            r = repo(uow)
            seen = r.seen(msg.id)
            if seen is not None:
                if seen != msg.digest:
                    raise envelope.ReplayRefused(f"message id {msg.id} was already used for a different message")
                log.info("exchange: duplicate message ignored", extra={"msg_id": msg.id, "peer": msg.peer})
                return Outcome("duplicate", msg.id)
            fn = HANDLERS.get(msg.type)
            if fn is None:
                raise envelope.MalformedMessage(f"no handler for message type {msg.type!r}")
            actor = f"peer:{msg.peer}"
            fn(uow, msg, actor)
            if not r.remember(msg_id=msg.id, peer_id=msg.peer, type_=msg.type, digest=msg.digest,
                              at=uow.clock.now(), transport=transport):
                uow.rollback()
                return Outcome("duplicate", msg.id)
            uow.audit.write(actor=actor, action="exchange.message_applied", object_type="xc_message",
                            object_id=msg.id, detail={"type": msg.type, "key_id": msg.kid, "transport": transport})
            uow.commit()
            return Outcome("applied", msg.id)
    except AppError as exc:
        return _refuse(env, exc, transport=transport, uow_factory=uow_factory)


def _refuse(env: dict[str, Any], exc: AppError, *, transport: str,
            uow_factory: Callable[[], SqlUnitOfWork]) -> Outcome:
    msg_id, peer, type_ = envelope.claimed(env) if env else (None, None, None)
    log.warning("exchange: message refused", extra={"msg_id": msg_id, "peer": peer, "code": exc.code,
                                                    "reason": exc.message})
    uow = uow_factory()
    with uow:
        repo(uow).add_refusal(at=uow.clock.now(), peer_id=peer, msg_id=msg_id, type=type_, code=exc.code,
                              reason=exc.message[:2000], transport=transport)
        uow.audit.write(actor=f"peer:{peer}" if peer else SYSTEM_ACTOR, action="exchange.message_refused",
                        object_type="xc_message", object_id=msg_id, reason=exc.code,
                        detail={"type": type_, "message": exc.message[:500], "transport": transport})
        uow.commit()
    return Outcome("refused", msg_id, exc.code, exc.message)


def refuse_raw(raw: bytes | str, *, code: str, message: str, transport: str,
               uow_factory: Callable[[], SqlUnitOfWork]) -> Outcome:
    """Record a message that could not be applied at all (``apply_failed``) as refused."""
    try:
        env = envelope.parse(raw)
    except AppError:
        env = {}
    return _refuse(env, AppError(message, code=code), transport=transport, uow_factory=uow_factory)


def _payload_str(p: dict[str, Any], key: str) -> str:
    v = p.get(key)
    if not isinstance(v, str) or not v:
        raise InvalidInput(f"payload member {key!r} must be a non-empty string", code="invalid_payload")
    return v


def peer_agreement(uow: SqlUnitOfWork, msg: envelope.Checked, *, lock: bool = False) -> Agreement:
    a = repo(uow).agreement(_payload_str(msg.payload, "agreement_id"), lock=lock)
    if a is None or a.peer_id != msg.peer:
        raise Conflict("no agreement with this peer under that id", code="unknown_agreement")
    return a


@handler("agreement.proposed")
def _proposed(uow: SqlUnitOfWork, msg: envelope.Checked, actor: str) -> None:
    p = msg.payload
    aid = _payload_str(p, "agreement_id")
    if repo(uow).agreement(aid) is not None:
        raise Conflict(f"agreement {aid} exists already", code="agreement_exists")
    code = _payload_str(p, "to_agency_code")
    ours = uow.agencies.by_code(code)
    if ours is None or not ours.active:
        raise InvalidInput(f"agency {code!r} is not an active agency here", code="unknown_agency")
    src_any = p.get("from_agency")
    src: dict[str, Any] = src_any if isinstance(src_any, dict) else {}
    name = f"{src.get('name') or src.get('code') or '?'} ({msg.peer})"
    # the proposer's outgoing terms are what we receive, and the other way round
    a = Agreement(id=aid, agency_id=ours.id, partner_agency_id=None, peer_id=msg.peer, partner_name=name,
                  outgoing=check_terms(p.get("incoming") or {}, "incoming"),
                  incoming=check_terms(p.get("outgoing") or {}, "outgoing"),
                  purpose=_payload_str(p, "purpose"), valid_from=parse_time(p.get("valid_from"), "valid_from"),
                  valid_to=parse_time(p.get("valid_to"), "valid_to"), status=AgreementStatus.PROPOSED,
                  created_at=uow.clock.now(), created_by=actor, partner_approved_by=f"{actor}/{msg.id}",
                  partner_approved_at=msg.created_at)
    repo(uow).add_agreement(a)
    uow.audit.write(actor=actor, action="exchange.agreement_proposed", object_type="xc_agreement", object_id=aid,
                    agency_id=ours.id, detail={"partner": name, "outgoing": a.outgoing, "incoming": a.incoming,
                                               "purpose": a.purpose, "msg_id": msg.id})


@handler("agreement.approved")
def _approved(uow: SqlUnitOfWork, msg: envelope.Checked, actor: str) -> None:
    a = peer_agreement(uow, msg, lock=True)
    if a.status is not AgreementStatus.PROPOSED:
        raise Conflict(f"agreement is {a.status.value}", code="agreement_not_proposed")
    values: dict[str, Any] = {"partner_approved_by": f"{actor}/{msg.id}", "partner_approved_at": msg.created_at}
    if a.local_approved_by:
        values["status"] = AgreementStatus.ACTIVE
    repo(uow).update_agreement(a.id, **values)
    uow.audit.write(actor=actor, action="exchange.agreement_approved", object_type="xc_agreement", object_id=a.id,
                    agency_id=a.agency_id, detail={"msg_id": msg.id, "active": bool(a.local_approved_by)})


@handler("agreement.revoked")
def _revoked(uow: SqlUnitOfWork, msg: envelope.Checked, actor: str) -> None:
    a = peer_agreement(uow, msg, lock=True)
    if a.status is AgreementStatus.REVOKED:
        return
    reason = str(msg.payload.get("reason") or "")[:2000]
    repo(uow).update_agreement(a.id, status=AgreementStatus.REVOKED, revoked_at=msg.created_at,
                               revoked_by=f"{actor}/{msg.id}", revoke_reason=reason)
    uow.audit.write(actor=actor, action="exchange.agreement_revoked", object_type="xc_agreement", object_id=a.id,
                    agency_id=a.agency_id, reason=reason, detail={"msg_id": msg.id})


@handler("record.shared")
def _record(uow: SqlUnitOfWork, msg: envelope.Checked, actor: str) -> None:
    a = peer_agreement(uow, msg)
    if not (a.status is AgreementStatus.ACTIVE and a.valid_from <= msg.created_at < a.valid_to):
        raise Conflict(f"agreement {a.id} was not in force when the record was sent", code="agreement_not_in_force")
    rtype = _payload_str(msg.payload, "record_type")
    allowed = a.incoming.get(rtype)
    if allowed is None:
        raise Conflict(f"the agreement does not cover receiving {rtype!r} records", code="not_in_agreement")
    body = msg.payload.get("record")
    if not isinstance(body, dict):
        raise InvalidInput("payload member 'record' must be an object", code="invalid_payload")
    rec = payload_to_record(rtype, body)
    check_record(rtype, rec)
    kept, stripped = strip_record(rec, allowed)
    if stripped:
        log.warning("exchange: fields outside the agreement stripped on arrival",
                    extra={"msg_id": msg.id, "peer": msg.peer, "fields": stripped})
    sid = repo(uow).add_share(agreement_id=a.id, direction="in", record_type=rtype,
                              record_id=str(kept["id"]) if "id" in kept else None, agency_id=a.agency_id,
                              partner_agency_id=None, peer_id=msg.peer, fields=kept, stripped=stripped,
                              msg_id=msg.id, at=uow.clock.now(), actor=actor)
    if rtype == "joint_patrol":
        from jingwu.exchange.services.patrols import apply_received

        apply_received(uow, a, kept)
    uow.audit.write(actor=actor, action="exchange.record_received", object_type="xc_share", object_id=str(sid),
                    agency_id=a.agency_id, detail={"record_type": rtype, "record_id": kept.get("id"),
                                                   "fields": sorted(kept), "stripped": stripped,
                                                   "msg_id": msg.id})


@handler("key.rotated")
def _key_rotated(uow: SqlUnitOfWork, msg: envelope.Checked, actor: str) -> None:
    kid = _payload_str(msg.payload, "key_id")
    pub = _payload_str(msg.payload, "public_key")
    envelope.load_public(pub)
    r = repo(uow)
    existing = r.peer_key_text(msg.peer, kid)
    if existing is not None and existing != pub:
        raise Conflict(f"peer already has a different key {kid}", code="key_conflict")
    r.add_peer_key(msg.peer, kid, pub, uow.clock.now())
    uow.audit.write(actor=actor, action="exchange.peer_key_added", object_type="xc_peer", object_id=msg.peer,
                    detail={"key_id": kid, "announced_with": msg.kid, "msg_id": msg.id})


def _register() -> None:
    """The handlers of requests and measures live with their use cases; importing them registers them."""
    from jingwu.exchange.services import measures, requests  # noqa: F401


_register()
