"""The exchange's tables (on the shared metadata) and its repository: agreements, shared records, peers and
their keys, our own signing keys, the federation outbox and inbox, refused messages, cooperation requests
and their events, enterprises and coercive measures. The only exchange module importing SQLAlchemy.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    and_,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jingwu.exchange.domain import (
    Agreement,
    AgreementStatus,
    CoopRequest,
    Enterprise,
    Measure,
    MeasureKind,
    MeasureStatus,
    RequestEvent,
    RequestKind,
    RequestStatus,
)
from jingwu.platform.tables import UTCDateTime, metadata

xc_agreements = Table(
    "xc_agreements", metadata,
    Column("id", String(36), primary_key=True),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False, index=True),
    Column("partner_agency_id", String(36), ForeignKey("agencies.id"), nullable=True),
    Column("peer_id", String(63), nullable=True),
    Column("partner_name", String(200), nullable=False),
    Column("outgoing", Text, nullable=False),  # JSON {record type: [fields]}
    Column("incoming", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("valid_from", UTCDateTime, nullable=False),
    Column("valid_to", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("local_approved_by", String(200), nullable=True),
    Column("local_approved_at", UTCDateTime, nullable=True),
    Column("partner_approved_by", String(200), nullable=True),
    Column("partner_approved_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("revoked_by", String(200), nullable=True),
    Column("revoke_reason", Text, nullable=True),
)

xc_shares = Table(
    "xc_shares", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("agreement_id", String(36), ForeignKey("xc_agreements.id"), nullable=False, index=True),
    Column("direction", String(4), nullable=False),  # out | in
    Column("record_type", String(32), nullable=False),
    Column("record_id", String(200), nullable=True),
    Column("agency_id", String(36), nullable=False),  # our agency (sender or receiver)
    Column("partner_agency_id", String(36), nullable=True),
    Column("peer_id", String(63), nullable=True),
    Column("fields", Text, nullable=False),  # JSON: the record as it left / arrived (agreed fields only)
    Column("stripped", Text, nullable=False),  # JSON list of the field names removed
    Column("msg_id", String(64), nullable=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
)

xc_peers = Table(
    "xc_peers", metadata,
    Column("id", String(63), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("transport", String(16), nullable=False),  # nats | webhook
    Column("url", String(500), nullable=True),  # webhook: where to POST envelopes
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
)

xc_peer_keys = Table(
    "xc_peer_keys", metadata,
    Column("peer_id", String(63), ForeignKey("xc_peers.id"), primary_key=True),
    Column("key_id", String(100), primary_key=True),
    Column("public_key", String(100), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    Column("retired_at", UTCDateTime, nullable=True),
)

xc_own_keys = Table(
    "xc_own_keys", metadata,
    Column("key_id", String(100), primary_key=True),
    Column("public_key", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("retired_at", UTCDateTime, nullable=True),
)

xc_outbox = Table(
    "xc_outbox", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("msg_id", String(64), nullable=False, unique=True),
    Column("peer_id", String(63), nullable=False),
    Column("type", String(40), nullable=False),
    Column("envelope", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True, index=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("failed_at", UTCDateTime, nullable=True),  # the peer refused it for good (webhook 4xx)
)

xc_inbox = Table(
    "xc_inbox", metadata,
    Column("msg_id", String(64), primary_key=True),
    Column("peer_id", String(63), nullable=False),
    Column("type", String(40), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("transport", String(16), nullable=False),
)

xc_refusals = Table(
    "xc_refusals", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("peer_id", String(200), nullable=True),
    Column("msg_id", String(200), nullable=True),
    Column("type", String(200), nullable=True),
    Column("code", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    Column("transport", String(16), nullable=False),
)

xc_requests = Table(
    "xc_requests", metadata,
    Column("id", String(36), primary_key=True),
    Column("agreement_id", String(36), ForeignKey("xc_agreements.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("title", String(300), nullable=False),
    Column("details", Text, nullable=False),
    Column("outgoing", Boolean, nullable=False),
    Column("agency_id", String(36), nullable=False, index=True),
    Column("partner_agency_id", String(36), nullable=True),
    Column("peer_id", String(63), nullable=True),
    Column("deadline", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("result", Text, nullable=True),
    Column("answered_at", UTCDateTime, nullable=True),
    Column("reminded_at", UTCDateTime, nullable=True),
    Column("overdue_at", UTCDateTime, nullable=True),
)

xc_request_events = Table(
    "xc_request_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(36), ForeignKey("xc_requests.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("text", Text, nullable=False),
)

xc_enterprises = Table(
    "xc_enterprises", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("credit_code", String(32), nullable=False, unique=True),
    Column("home_agency_id", String(36), ForeignKey("agencies.id"), nullable=True),
    Column("home_peer_id", String(63), nullable=True),
    Column("flagged", Boolean, nullable=False),
    Column("flag_reason", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

xc_measures = Table(
    "xc_measures", metadata,
    Column("id", String(36), primary_key=True),
    Column("enterprise_id", String(36), ForeignKey("xc_enterprises.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False, index=True),
    Column("case_ref", String(100), nullable=False),
    Column("basis", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("needs_approval", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("approver", String(200), nullable=True),
    Column("approved_at", UTCDateTime, nullable=True),
    Column("taken_at", UTCDateTime, nullable=True),
    Column("notice_due", UTCDateTime, nullable=True, index=True),
    Column("notified_at", UTCDateTime, nullable=True),
    Column("escalated_at", UTCDateTime, nullable=True),
)

xc_disputes = Table(
    "xc_disputes", metadata,
    Column("id", String(36), primary_key=True),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False, index=True),  # raised by
    Column("other_agency_id", String(36), ForeignKey("agencies.id"), nullable=False, index=True),
    Column("subject", String(300), nullable=False),  # the case or incident in dispute
    Column("question", Text, nullable=False),
    Column("status", String(16), nullable=False),  # open | decided
    Column("raised_at", UTCDateTime, nullable=False),
    Column("raised_by", String(200), nullable=False),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("decided_by", String(200), nullable=True),
    Column("competent_agency_id", String(36), nullable=True),
    Column("reasoning", Text, nullable=True),
)

xc_dispute_args = Table(
    "xc_dispute_args", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dispute_id", String(36), ForeignKey("xc_disputes.id"), nullable=False, index=True),
    Column("agency_id", String(36), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("text", Text, nullable=False),
)

xc_risks = Table(
    "xc_risks", metadata,
    Column("id", String(36), primary_key=True),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False, index=True),  # owning agency
    Column("kind", String(32), nullable=False),
    Column("title", String(300), nullable=False),
    Column("place", String(300), nullable=False),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("level", String(16), nullable=False),
    Column("owner", String(200), nullable=False),  # the officer or unit answering for it
    Column("status", String(16), nullable=False),
    Column("next_review", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
)

xc_risk_followups = Table(
    "xc_risk_followups", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("risk_id", String(36), ForeignKey("xc_risks.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("status", String(16), nullable=False),
)

xc_patrols = Table(
    "xc_patrols", metadata,
    Column("id", String(36), primary_key=True),
    Column("agreement_id", String(36), ForeignKey("xc_agreements.id"), nullable=False, index=True),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False),  # our side
    Column("planned_here", Boolean, nullable=False),  # False: proposed by the peer
    Column("kind", String(16), nullable=False),  # patrol | checkpoint
    Column("title", String(300), nullable=False),
    Column("place", String(300), nullable=False),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("units", Integer, nullable=True),  # the proposer's units
    Column("partner_units", Integer, nullable=True),
    Column("status", String(16), nullable=False),  # proposed | agreed | cancelled
    Column("updated_at", UTCDateTime, nullable=False),
)

TABLES = (xc_agreements, xc_shares, xc_peers, xc_peer_keys, xc_own_keys, xc_outbox, xc_inbox, xc_refusals,
          xc_requests, xc_request_events, xc_enterprises, xc_measures, xc_disputes, xc_dispute_args,
          xc_risks, xc_risk_followups, xc_patrols)


def _agreement(r: Any) -> Agreement:
    return Agreement(
        id=r.id, agency_id=r.agency_id, partner_agency_id=r.partner_agency_id, peer_id=r.peer_id,
        partner_name=r.partner_name, outgoing=json.loads(r.outgoing), incoming=json.loads(r.incoming),
        purpose=r.purpose, valid_from=r.valid_from, valid_to=r.valid_to, status=AgreementStatus(r.status),
        created_at=r.created_at, created_by=r.created_by, local_approved_by=r.local_approved_by,
        local_approved_at=r.local_approved_at, partner_approved_by=r.partner_approved_by,
        partner_approved_at=r.partner_approved_at, revoked_at=r.revoked_at, revoked_by=r.revoked_by,
        revoke_reason=r.revoke_reason)


def _request(r: Any, events: tuple[RequestEvent, ...] = ()) -> CoopRequest:
    return CoopRequest(
        id=r.id, agreement_id=r.agreement_id, kind=RequestKind(r.kind), title=r.title, details=r.details,
        outgoing=bool(r.outgoing), agency_id=r.agency_id, partner_agency_id=r.partner_agency_id, peer_id=r.peer_id,
        deadline=r.deadline, status=RequestStatus(r.status), created_at=r.created_at, created_by=r.created_by,
        result=r.result, answered_at=r.answered_at, reminded_at=r.reminded_at, overdue_at=r.overdue_at,
        events=events)


def _enterprise(r: Any) -> Enterprise:
    return Enterprise(id=r.id, name=r.name, credit_code=r.credit_code, home_agency_id=r.home_agency_id,
                      home_peer_id=r.home_peer_id, flagged=bool(r.flagged), flag_reason=r.flag_reason)


def _measure(r: Any) -> Measure:
    return Measure(id=r.id, enterprise_id=r.enterprise_id, kind=MeasureKind(r.kind), agency_id=r.agency_id,
                   case_ref=r.case_ref, basis=r.basis, status=MeasureStatus(r.status),
                   needs_approval=bool(r.needs_approval), created_at=r.created_at, created_by=r.created_by,
                   approver=r.approver, approved_at=r.approved_at, taken_at=r.taken_at, notice_due=r.notice_due,
                   notified_at=r.notified_at, escalated_at=r.escalated_at)


class ExchangeRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    # ---------------------------------------------------------------- agreements
    def add_agreement(self, a: Agreement) -> None:
        self.s.execute(insert(xc_agreements).values(
            id=a.id, agency_id=a.agency_id, partner_agency_id=a.partner_agency_id, peer_id=a.peer_id,
            partner_name=a.partner_name, outgoing=json.dumps(a.outgoing), incoming=json.dumps(a.incoming),
            purpose=a.purpose, valid_from=a.valid_from, valid_to=a.valid_to, status=a.status.value,
            created_at=a.created_at, created_by=a.created_by, local_approved_by=a.local_approved_by,
            local_approved_at=a.local_approved_at, partner_approved_by=a.partner_approved_by,
            partner_approved_at=a.partner_approved_at))

    def agreement(self, agreement_id: str, *, lock: bool = False) -> Agreement | None:
        q = select(xc_agreements).where(xc_agreements.c.id == agreement_id)
        if lock:
            q = q.with_for_update()
        r = self.s.execute(q).one_or_none()
        return _agreement(r) if r else None

    def agreements(self) -> list[Agreement]:
        return [_agreement(r) for r in self.s.execute(
            select(xc_agreements).order_by(xc_agreements.c.created_at.desc())).all()]

    def update_agreement(self, agreement_id: str, **values: Any) -> None:
        if "status" in values and isinstance(values["status"], AgreementStatus):
            values["status"] = values["status"].value
        self.s.execute(update(xc_agreements).where(xc_agreements.c.id == agreement_id).values(**values))

    # ---------------------------------------------------------------- shared records
    def add_share(self, **values: Any) -> int:
        values["fields"] = json.dumps(values["fields"], ensure_ascii=False, sort_keys=True)
        values["stripped"] = json.dumps(values["stripped"])
        res: Any = self.s.execute(insert(xc_shares).values(**values))
        return int(res.inserted_primary_key[0])

    def shares(self, *, agency_ids: set[str] | None = None, record_type: str | None = None,
               direction: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        q = select(xc_shares).order_by(xc_shares.c.id.desc()).limit(limit)
        if agency_ids is not None:
            q = q.where(or_(xc_shares.c.agency_id.in_(agency_ids), xc_shares.c.partner_agency_id.in_(agency_ids)))
        if record_type:
            q = q.where(xc_shares.c.record_type == record_type)
        if direction:
            q = q.where(xc_shares.c.direction == direction)
        out = []
        for r in self.s.execute(q).all():
            d = dict(r._mapping)
            d["fields"] = json.loads(d["fields"])
            d["stripped"] = json.loads(d["stripped"])
            out.append(d)
        return out

    # ---------------------------------------------------------------- peers and keys
    def add_peer(self, *, id: str, name: str, transport: str, url: str | None, at: datetime) -> None:
        self.s.execute(insert(xc_peers).values(id=id, name=name, transport=transport, url=url, active=True,
                                               created_at=at))

    def peer(self, peer_id: str) -> dict[str, Any] | None:
        r = self.s.execute(select(xc_peers).where(xc_peers.c.id == peer_id)).one_or_none()
        return dict(r._mapping) if r else None

    def peers(self) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in self.s.execute(select(xc_peers).order_by(xc_peers.c.id)).all()]

    def add_peer_key(self, peer_id: str, key_id: str, public_key: str, at: datetime) -> bool:
        """False when the peer already has this key id (unchanged)."""
        got = self.s.execute(select(xc_peer_keys.c.public_key).where(
            and_(xc_peer_keys.c.peer_id == peer_id, xc_peer_keys.c.key_id == key_id))).scalar_one_or_none()
        if got is not None:
            return False
        self.s.execute(insert(xc_peer_keys).values(peer_id=peer_id, key_id=key_id, public_key=public_key,
                                                   added_at=at))
        return True

    def peer_key_text(self, peer_id: str, key_id: str) -> str | None:
        return self.s.execute(select(xc_peer_keys.c.public_key).where(
            and_(xc_peer_keys.c.peer_id == peer_id, xc_peer_keys.c.key_id == key_id))).scalar_one_or_none()

    def retire_peer_key(self, peer_id: str, key_id: str, at: datetime) -> int:
        return self.s.execute(update(xc_peer_keys).where(and_(
            xc_peer_keys.c.peer_id == peer_id, xc_peer_keys.c.key_id == key_id,
            xc_peer_keys.c.retired_at.is_(None))).values(retired_at=at)).rowcount  # type: ignore[attr-defined]

    def peer_keys(self, peer_id: str) -> dict[str, str] | None:
        """Usable (not retired) key ids → public keys of an active peer; None when the peer is unknown."""
        p = self.peer(peer_id)
        if p is None or not p["active"]:
            return None
        rows = self.s.execute(select(xc_peer_keys.c.key_id, xc_peer_keys.c.public_key).where(and_(
            xc_peer_keys.c.peer_id == peer_id, xc_peer_keys.c.retired_at.is_(None)))).all()
        return {r.key_id: r.public_key for r in rows}

    def all_peer_keys(self) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in self.s.execute(
            select(xc_peer_keys).order_by(xc_peer_keys.c.peer_id, xc_peer_keys.c.added_at)).all()]

    def add_own_key(self, key_id: str, public_key: str, at: datetime) -> None:
        self.s.execute(insert(xc_own_keys).values(key_id=key_id, public_key=public_key, created_at=at))

    def own_keys(self) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in self.s.execute(
            select(xc_own_keys).order_by(xc_own_keys.c.created_at, xc_own_keys.c.key_id)).all()]

    def retire_own_key(self, key_id: str, at: datetime) -> int:
        return self.s.execute(update(xc_own_keys).where(and_(
            xc_own_keys.c.key_id == key_id, xc_own_keys.c.retired_at.is_(None))).values(
            retired_at=at)).rowcount  # type: ignore[attr-defined]

    # ---------------------------------------------------------------- outbox / inbox / refusals
    def queue(self, *, msg_id: str, peer_id: str, type_: str, envelope: str, at: datetime) -> None:
        self.s.execute(insert(xc_outbox).values(msg_id=msg_id, peer_id=peer_id, type=type_, envelope=envelope,
                                                created_at=at))

    def pending(self, limit: int) -> list[dict[str, Any]]:
        rows = self.s.execute(select(xc_outbox.c.seq, xc_outbox.c.msg_id, xc_outbox.c.peer_id,
                                     xc_outbox.c.envelope, xc_peers.c.transport, xc_peers.c.url)
                              .join(xc_peers, xc_peers.c.id == xc_outbox.c.peer_id)
                              .where(and_(xc_outbox.c.sent_at.is_(None), xc_outbox.c.failed_at.is_(None)))
                              .order_by(xc_outbox.c.seq).limit(limit)).all()
        return [dict(r._mapping) for r in rows]

    def outbox(self, limit: int = 100) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in self.s.execute(
            select(xc_outbox.c.seq, xc_outbox.c.msg_id, xc_outbox.c.peer_id, xc_outbox.c.type,
                   xc_outbox.c.created_at, xc_outbox.c.sent_at, xc_outbox.c.attempts, xc_outbox.c.last_error,
                   xc_outbox.c.failed_at).order_by(xc_outbox.c.seq.desc()).limit(limit)).all()]

    def mark_sent(self, seqs: list[int], at: datetime) -> None:
        if seqs:
            self.s.execute(update(xc_outbox).where(xc_outbox.c.seq.in_(seqs)).values(
                sent_at=at, attempts=xc_outbox.c.attempts + 1))

    def mark_attempt(self, seq: int, error: str, at: datetime, *, final: bool) -> None:
        self.s.execute(update(xc_outbox).where(xc_outbox.c.seq == seq).values(
            attempts=xc_outbox.c.attempts + 1, last_error=error[:2000], failed_at=at if final else None))

    def seen(self, msg_id: str) -> str | None:
        """The digest of an applied message with this id, or None."""
        return self.s.execute(select(xc_inbox.c.digest).where(xc_inbox.c.msg_id == msg_id)).scalar_one_or_none()

    def remember(self, *, msg_id: str, peer_id: str, type_: str, digest: str, at: datetime, transport: str) -> bool:
        """Record an applied message id; False if another transaction recorded it first."""
        try:
            with self.s.begin_nested():
                self.s.execute(insert(xc_inbox).values(msg_id=msg_id, peer_id=peer_id, type=type_, digest=digest,
                                                       received_at=at, transport=transport))
        except IntegrityError:
            return False
        return True

    def inbox_count(self) -> int:
        from sqlalchemy import func
        return int(self.s.execute(select(func.count()).select_from(xc_inbox)).scalar_one())

    def add_refusal(self, **values: Any) -> None:
        self.s.execute(insert(xc_refusals).values(**values))

    def refusals(self, limit: int = 100) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in self.s.execute(
            select(xc_refusals).order_by(xc_refusals.c.id.desc()).limit(limit)).all()]

    # ---------------------------------------------------------------- requests
    def add_request(self, r: CoopRequest) -> None:
        self.s.execute(insert(xc_requests).values(
            id=r.id, agreement_id=r.agreement_id, kind=r.kind.value, title=r.title, details=r.details,
            outgoing=r.outgoing, agency_id=r.agency_id, partner_agency_id=r.partner_agency_id, peer_id=r.peer_id,
            deadline=r.deadline, status=r.status.value, created_at=r.created_at, created_by=r.created_by))

    def add_request_event(self, request_id: str, ev: RequestEvent) -> None:
        self.s.execute(insert(xc_request_events).values(request_id=request_id, at=ev.at, actor=ev.actor,
                                                        kind=ev.kind, text=ev.text))

    def request(self, request_id: str, *, lock: bool = False) -> CoopRequest | None:
        q = select(xc_requests).where(xc_requests.c.id == request_id)
        if lock:
            q = q.with_for_update()
        r = self.s.execute(q).one_or_none()
        if r is None:
            return None
        evs = tuple(RequestEvent(e.at, e.actor, e.kind, e.text) for e in self.s.execute(
            select(xc_request_events).where(xc_request_events.c.request_id == request_id)
            .order_by(xc_request_events.c.id)).all())
        return _request(r, evs)

    def requests(self, *, open_only: bool = False) -> list[CoopRequest]:
        q = select(xc_requests).order_by(xc_requests.c.deadline)
        if open_only:
            q = q.where(xc_requests.c.status.in_([RequestStatus.OPEN.value, RequestStatus.ACCEPTED.value]))
        return [_request(r) for r in self.s.execute(q).all()]

    def update_request(self, request_id: str, **values: Any) -> None:
        if "status" in values and isinstance(values["status"], RequestStatus):
            values["status"] = values["status"].value
        self.s.execute(update(xc_requests).where(xc_requests.c.id == request_id).values(**values))

    # ---------------------------------------------------------------- enterprises and measures
    def add_enterprise(self, e: Enterprise, at: datetime) -> None:
        self.s.execute(insert(xc_enterprises).values(
            id=e.id, name=e.name, credit_code=e.credit_code, home_agency_id=e.home_agency_id,
            home_peer_id=e.home_peer_id, flagged=e.flagged, flag_reason=e.flag_reason, created_at=at))

    def enterprise(self, enterprise_id: str) -> Enterprise | None:
        r = self.s.execute(select(xc_enterprises).where(xc_enterprises.c.id == enterprise_id)).one_or_none()
        return _enterprise(r) if r else None

    def enterprise_by_code(self, code: str) -> Enterprise | None:
        r = self.s.execute(select(xc_enterprises).where(xc_enterprises.c.credit_code == code)).one_or_none()
        return _enterprise(r) if r else None

    def enterprises(self) -> list[Enterprise]:
        return [_enterprise(r) for r in self.s.execute(select(xc_enterprises).order_by(xc_enterprises.c.name)).all()]

    def add_measure(self, m: Measure) -> None:
        self.s.execute(insert(xc_measures).values(
            id=m.id, enterprise_id=m.enterprise_id, kind=m.kind.value, agency_id=m.agency_id, case_ref=m.case_ref,
            basis=m.basis, status=m.status.value, needs_approval=m.needs_approval, created_at=m.created_at,
            created_by=m.created_by))

    def measure(self, measure_id: str, *, lock: bool = False) -> Measure | None:
        q = select(xc_measures).where(xc_measures.c.id == measure_id)
        if lock:
            q = q.with_for_update()
        r = self.s.execute(q).one_or_none()
        return _measure(r) if r else None

    def measures(self) -> list[Measure]:
        return [_measure(r) for r in self.s.execute(select(xc_measures).order_by(xc_measures.c.created_at)).all()]

    def late_unnotified(self, now: datetime) -> list[Measure]:
        return [_measure(r) for r in self.s.execute(select(xc_measures).where(and_(
            xc_measures.c.notice_due.is_not(None), xc_measures.c.notice_due < now,
            xc_measures.c.notified_at.is_(None), xc_measures.c.escalated_at.is_(None)))).all()]

    def update_measure(self, measure_id: str, **values: Any) -> None:
        if "status" in values and isinstance(values["status"], MeasureStatus):
            values["status"] = values["status"].value
        self.s.execute(update(xc_measures).where(xc_measures.c.id == measure_id).values(**values))

    # ---------------------------------------------------------------- jurisdiction disputes
    def add_dispute(self, **values: Any) -> None:
        self.s.execute(insert(xc_disputes).values(**values))

    def _with_children(self, parent: Table, pid: str, child: Table, fk: Any, key: str,
                       lock: bool) -> dict[str, Any] | None:
        """One row of ``parent`` with its child rows (in insertion order) under ``key``; None if absent."""
        q = select(parent).where(parent.c.id == pid)
        if lock:
            q = q.with_for_update()
        r = self.s.execute(q).one_or_none()
        if r is None:
            return None
        d = dict(r._mapping)
        d[key] = [dict(x._mapping) for x in self.s.execute(select(child).where(fk == pid).order_by(child.c.id)).all()]
        return d

    def dispute(self, dispute_id: str, *, lock: bool = False) -> dict[str, Any] | None:
        return self._with_children(xc_disputes, dispute_id, xc_dispute_args, xc_dispute_args.c.dispute_id,
                                   "arguments", lock)

    def disputes(self) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in self.s.execute(
            select(xc_disputes).order_by(xc_disputes.c.raised_at.desc())).all()]

    def add_argument(self, **values: Any) -> None:
        self.s.execute(insert(xc_dispute_args).values(**values))

    def update_dispute(self, dispute_id: str, **values: Any) -> None:
        self.s.execute(update(xc_disputes).where(xc_disputes.c.id == dispute_id).values(**values))

    # ---------------------------------------------------------------- risk register
    def add_risk(self, **values: Any) -> None:
        self.s.execute(insert(xc_risks).values(**values))

    def risk(self, risk_id: str, *, lock: bool = False) -> dict[str, Any] | None:
        return self._with_children(xc_risks, risk_id, xc_risk_followups, xc_risk_followups.c.risk_id,
                                   "followups", lock)

    def risks(self, agency_ids: set[str]) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in self.s.execute(
            select(xc_risks).where(xc_risks.c.agency_id.in_(agency_ids)).order_by(xc_risks.c.created_at)).all()]

    def add_followup(self, **values: Any) -> None:
        self.s.execute(insert(xc_risk_followups).values(**values))

    def update_risk(self, risk_id: str, **values: Any) -> None:
        self.s.execute(update(xc_risks).where(xc_risks.c.id == risk_id).values(**values))

    # ---------------------------------------------------------------- joint patrols and checkpoints
    def patrol(self, patrol_id: str) -> dict[str, Any] | None:
        r = self.s.execute(select(xc_patrols).where(xc_patrols.c.id == patrol_id)).one_or_none()
        return dict(r._mapping) if r else None

    def add_patrol(self, **values: Any) -> None:
        self.s.execute(insert(xc_patrols).values(**values))

    def update_patrol(self, patrol_id: str, **values: Any) -> None:
        self.s.execute(update(xc_patrols).where(xc_patrols.c.id == patrol_id).values(**values))

    def patrols(self, agreement_ids: set[str]) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in self.s.execute(
            select(xc_patrols).where(xc_patrols.c.agreement_id.in_(agreement_ids))
            .order_by(xc_patrols.c.starts_at)).all()]


def repo(uow: Any) -> ExchangeRepository:
    """The exchange repository on a unit of work's session (same transaction)."""
    return ExchangeRepository(uow.session)
