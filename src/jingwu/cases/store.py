"""Cases storage: cases, their transitions and events, assignments, parties, access codes (hashed), the
seized-property and frozen-account registers with their append-only timelines, penalty decisions, the
interference register and sent reminders. The only cases module that imports SQLAlchemy.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from jingwu.platform.errors import NotFound
from jingwu.platform.tables import UTCDateTime, agencies, in_subtree, metadata, new_id
from jingwu.platform.uow import SqlUnitOfWork

cases = Table(
    "cases", metadata,
    Column("id", String(36), primary_key=True),
    Column("number", String(40), nullable=False, unique=True),
    Column("track", String(16), nullable=False),
    Column("state", String(32), nullable=False),
    Column("title", String(200), nullable=False),
    Column("summary", Text, nullable=False, server_default=""),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False, index=True),
    Column("incident_id", String(64), nullable=True, index=True),
    Column("incident_timeline", Text, nullable=True),  # JSON snapshot passed in when opened from an incident
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

case_counters = Table(
    "case_counters", metadata,
    Column("agency_id", String(36), ForeignKey("agencies.id"), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last", Integer, nullable=False),
)

case_assignments = Table(
    "case_assignments", metadata,
    Column("case_id", String(36), ForeignKey("cases.id"), primary_key=True),
    Column("username", String(200), primary_key=True),
    Column("duty", String(32), nullable=False),  # investigator | legal_officer
    Column("at", UTCDateTime(), nullable=False),
)

case_transitions = Table(
    "case_transitions", metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("from_state", String(32), nullable=True),
    Column("to_state", String(32), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text, nullable=False),
)

case_events = Table(
    "case_events", metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("event", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),  # when it happened
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("subject", String(36), nullable=True),  # the party (or register item) it concerns
    Column("reason", Text, nullable=False, server_default=""),
)

case_parties = Table(
    "case_parties", metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("role", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("id_number", String(32), nullable=True),
    Column("phone", String(40), nullable=True),
    Column("email", String(254), nullable=True),
    Column("address", String(400), nullable=True),
    Column("contact", String(8), nullable=False),
    Column("lang", String(8), nullable=False),
    Column("related_party_id", String(36), nullable=True),  # suspect_family → the suspect
    Column("created_at", UTCDateTime(), nullable=False),
)

case_access_codes = Table(
    "case_access_codes", metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("party_id", String(36), ForeignKey("case_parties.id"), nullable=False, index=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("issued_by", String(200), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("revoked_by", String(200), nullable=True),
)

case_property = Table(
    "case_property", metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("description", String(400), nullable=False),
    Column("category", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("owner_party_id", String(36), nullable=True),
    Column("storage_place", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("seized_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

case_accounts = Table(
    "case_accounts", metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("bank", String(120), nullable=False),
    Column("number", String(40), nullable=False),  # the full number: shown to the case's handlers only
    Column("masked", String(40), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("holder_party_id", String(36), nullable=True),
    Column("status", String(16), nullable=False),
    Column("frozen_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=True),
    Column("released_at", UTCDateTime(), nullable=True),
)

case_register_events = Table(
    "case_register_events", metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("register", String(16), nullable=False),  # property | account
    Column("item_id", String(36), nullable=False, index=True),
    Column("action", String(32), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("storage_place", String(200), nullable=True),
    Column("note", Text, nullable=False, server_default=""),
)

case_decisions = Table(
    "case_decisions", metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, unique=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("fields", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("public_html", Text, nullable=False),
)

case_interference = Table(
    "case_interference", metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("username", String(200), nullable=False),
    Column("user_agency_id", String(36), nullable=True),
    Column("action", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("audit_seq", BigInteger, nullable=False),
    Index("ix_case_interference_at", "at"),
)

case_reminders = Table(
    "case_reminders", metadata,
    Column("key", String(200), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("rule", String(64), nullable=False),
    Column("level", String(16), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    UniqueConstraint("case_id", "key", name="uq_case_reminders_case_key"),
)

TABLES = (cases, case_counters, case_assignments, case_transitions, case_events, case_parties, case_access_codes,
          case_property, case_accounts, case_register_events, case_decisions, case_interference, case_reminders)


def _d(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


class CaseRepository:
    def __init__(self, s: Session) -> None:
        self.s = s

    # ---- cases
    def next_number(self, agency_id: str, agency_code: str, year: int) -> str:
        row = self.s.execute(select(case_counters.c.last).where(
            and_(case_counters.c.agency_id == agency_id, case_counters.c.year == year)).with_for_update()).one_or_none()
        if row is None:
            n = 1
            self.s.execute(insert(case_counters).values(agency_id=agency_id, year=year, last=1))
        else:
            n = int(row.last) + 1
            self.s.execute(update(case_counters).where(and_(case_counters.c.agency_id == agency_id,
                                                            case_counters.c.year == year)).values(last=n))
        code = "".join(ch for ch in agency_code.upper() if ch.isalnum())[:12] or "X"
        return f"{code}-{year}-{n:06d}"

    def add(self, **values: Any) -> str:
        cid = new_id()
        tl = values.pop("incident_timeline", None)
        self.s.execute(insert(cases).values(id=cid, incident_timeline=json.dumps(tl, ensure_ascii=False)
                                            if tl is not None else None, **values))
        return cid

    def get(self, case_id: str, *, lock: bool = False) -> dict[str, Any]:
        q = select(cases, agencies.c.path.label("agency_path"), agencies.c.name.label("agency_name"),
                   agencies.c.name_en.label("agency_name_en")).join(agencies, agencies.c.id == cases.c.agency_id) \
            .where(cases.c.id == case_id)
        if lock:
            q = q.with_for_update(of=cases)
        r = self.s.execute(q).one_or_none()
        if r is None:
            raise NotFound(f"case {case_id} does not exist", code="unknown_case")
        d = _d(r)
        d["incident_timeline"] = json.loads(d["incident_timeline"]) if d["incident_timeline"] else None
        return d

    def by_number(self, number: str) -> dict[str, Any] | None:
        cid = self.s.execute(select(cases.c.id).where(cases.c.number == number)).scalar_one_or_none()
        return self.get(cid) if cid else None

    def set_state(self, case_id: str, state: str, at: datetime) -> None:
        self.s.execute(update(cases).where(cases.c.id == case_id).values(state=state, updated_at=at))

    def in_subtree(self, path: str, *, open_only: bool = False, incident_id: str | None = None,
                   username: str | None = None) -> list[dict[str, Any]]:
        q = select(cases, agencies.c.name.label("agency_name"), agencies.c.path.label("agency_path")) \
            .join(agencies, agencies.c.id == cases.c.agency_id).where(in_subtree(agencies.c.path, path))
        if open_only:
            q = q.where(cases.c.state != "closed")
        if incident_id:
            q = q.where(cases.c.incident_id == incident_id)
        if username:
            q = q.where(cases.c.id.in_(select(case_assignments.c.case_id)
                                       .where(case_assignments.c.username == username)))
        return [_d(r) for r in self.s.execute(q.order_by(cases.c.created_at.desc()).limit(2000))]

    def open_case_ids(self) -> list[str]:
        return [str(x) for x in self.s.execute(select(cases.c.id).where(cases.c.state != "closed")).scalars()]

    # ---- assignments
    def assign(self, case_id: str, username: str, duty: str, at: datetime) -> None:
        exists = self.s.execute(select(case_assignments.c.username).where(and_(
            case_assignments.c.case_id == case_id, case_assignments.c.username == username))).one_or_none()
        if exists is None:
            self.s.execute(insert(case_assignments).values(case_id=case_id, username=username, duty=duty, at=at))

    def assignments(self, case_id: str) -> list[dict[str, Any]]:
        return [_d(r) for r in self.s.execute(select(case_assignments).where(case_assignments.c.case_id == case_id)
                                               .order_by(case_assignments.c.at))]

    def assignments_of(self, case_ids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        if case_ids:
            for r in self.s.execute(select(case_assignments).where(case_assignments.c.case_id.in_(case_ids))):
                out.setdefault(r.case_id, []).append(r.username)
        return out

    # ---- timeline
    def add_transition(self, **values: Any) -> None:
        self.s.execute(insert(case_transitions).values(id=new_id(), **values))

    def transitions(self, case_id: str) -> list[dict[str, Any]]:
        return [_d(r) for r in self.s.execute(select(case_transitions).where(case_transitions.c.case_id == case_id)
                                               .order_by(case_transitions.c.at, case_transitions.c.id))]

    def add_event(self, **values: Any) -> str:
        eid = new_id()
        self.s.execute(insert(case_events).values(id=eid, **values))
        return eid

    def events(self, case_id: str) -> list[dict[str, Any]]:
        return [_d(r) for r in self.s.execute(select(case_events).where(case_events.c.case_id == case_id)
                                               .order_by(case_events.c.at))]

    def events_of(self, case_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {cid: [] for cid in case_ids}
        for i in range(0, len(case_ids), 500):
            chunk = case_ids[i:i + 500]
            for r in self.s.execute(select(case_events).where(case_events.c.case_id.in_(chunk))):
                out[r.case_id].append(_d(r))
        return out

    # ---- parties and codes
    def add_party(self, **values: Any) -> str:
        pid = new_id()
        self.s.execute(insert(case_parties).values(id=pid, **values))
        return pid

    def parties(self, case_id: str) -> list[dict[str, Any]]:
        return [_d(r) for r in self.s.execute(select(case_parties).where(case_parties.c.case_id == case_id)
                                               .order_by(case_parties.c.created_at))]

    def party(self, case_id: str, party_id: str) -> dict[str, Any]:
        r = self.s.execute(select(case_parties).where(and_(case_parties.c.id == party_id,
                                                           case_parties.c.case_id == case_id))).one_or_none()
        if r is None:
            raise NotFound(f"party {party_id} is not a party of this case", code="unknown_party")
        return _d(r)

    def add_code(self, **values: Any) -> str:
        cid = new_id()
        self.s.execute(insert(case_access_codes).values(id=cid, **values))
        return cid

    def revoke_codes(self, party_id: str, at: datetime, by: str) -> int:
        res = self.s.execute(update(case_access_codes).where(and_(case_access_codes.c.party_id == party_id,
                                                                  case_access_codes.c.revoked_at.is_(None)))
                             .values(revoked_at=at, revoked_by=by))
        return int(res.rowcount or 0)  # type: ignore[attr-defined]

    def codes(self, case_id: str) -> list[dict[str, Any]]:
        q = select(case_access_codes.c.id, case_access_codes.c.party_id, case_access_codes.c.issued_at,
                   case_access_codes.c.issued_by, case_access_codes.c.revoked_at, case_access_codes.c.revoked_by) \
            .where(case_access_codes.c.case_id == case_id).order_by(case_access_codes.c.issued_at)
        return [_d(r) for r in self.s.execute(q)]

    def by_code_hash(self, h: str) -> dict[str, Any] | None:
        """The active code with this hash, with its case number (one indexed read whatever the input)."""
        q = select(case_access_codes.c.case_id, case_access_codes.c.party_id, case_access_codes.c.code_hash,
                   cases.c.number).join(cases, cases.c.id == case_access_codes.c.case_id) \
            .where(and_(case_access_codes.c.code_hash == h, case_access_codes.c.revoked_at.is_(None)))
        r = self.s.execute(q).one_or_none()
        return _d(r) if r else None

    # ---- registers
    def add_property(self, **values: Any) -> str:
        pid = new_id()
        self.s.execute(insert(case_property).values(id=pid, **values))
        return pid

    def property(self, case_id: str) -> list[dict[str, Any]]:
        return [_d(r) for r in self.s.execute(select(case_property).where(case_property.c.case_id == case_id)
                                               .order_by(case_property.c.seized_at))]

    def property_item(self, case_id: str, item_id: str) -> dict[str, Any]:
        r = self.s.execute(select(case_property).where(and_(case_property.c.id == item_id,
                                                            case_property.c.case_id == case_id))).one_or_none()
        if r is None:
            raise NotFound(f"property item {item_id} is not in this case's register", code="unknown_item")
        return _d(r)

    def update_property(self, item_id: str, **values: Any) -> None:
        self.s.execute(update(case_property).where(case_property.c.id == item_id).values(**values))

    def add_account(self, **values: Any) -> str:
        aid = new_id()
        self.s.execute(insert(case_accounts).values(id=aid, **values))
        return aid

    def accounts(self, case_id: str) -> list[dict[str, Any]]:
        return [_d(r) for r in self.s.execute(select(case_accounts).where(case_accounts.c.case_id == case_id)
                                               .order_by(case_accounts.c.frozen_at))]

    def account(self, case_id: str, item_id: str) -> dict[str, Any]:
        r = self.s.execute(select(case_accounts).where(and_(case_accounts.c.id == item_id,
                                                            case_accounts.c.case_id == case_id))).one_or_none()
        if r is None:
            raise NotFound(f"account {item_id} is not in this case's register", code="unknown_item")
        return _d(r)

    def update_account(self, item_id: str, **values: Any) -> None:
        self.s.execute(update(case_accounts).where(case_accounts.c.id == item_id).values(**values))

    def add_register_event(self, **values: Any) -> None:
        self.s.execute(insert(case_register_events).values(id=new_id(), **values))

    def register_events(self, case_id: str) -> list[dict[str, Any]]:
        return [_d(r) for r in self.s.execute(select(case_register_events)
                                               .where(case_register_events.c.case_id == case_id)
                                               .order_by(case_register_events.c.at))]

    # ---- decisions
    def add_decision(self, **values: Any) -> None:
        self.s.execute(insert(case_decisions).values(id=new_id(), **values))

    def decision(self, case_id: str) -> dict[str, Any] | None:
        r = self.s.execute(select(case_decisions).where(case_decisions.c.case_id == case_id)).one_or_none()
        return _d(r) if r else None

    # ---- interference
    def add_interference(self, **values: Any) -> None:
        self.s.execute(insert(case_interference).values(id=new_id(), **values))

    def interference(self, path: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
        q = select(case_interference, cases.c.number, cases.c.title, agencies.c.name.label("agency_name")) \
            .join(cases, cases.c.id == case_interference.c.case_id) \
            .join(agencies, agencies.c.id == cases.c.agency_id) \
            .where(and_(in_subtree(agencies.c.path, path), case_interference.c.at >= since,
                        case_interference.c.at < until)).order_by(case_interference.c.at)
        return [_d(r) for r in self.s.execute(q)]

    # ---- reminders
    def reminded(self, keys: list[str]) -> set[str]:
        if not keys:
            return set()
        return {str(k) for k in self.s.execute(select(case_reminders.c.key).where(case_reminders.c.key.in_(keys)))
                .scalars()}

    def add_reminder(self, **values: Any) -> None:
        self.s.execute(insert(case_reminders).values(**values))

    def count(self) -> int:
        return int(self.s.execute(select(func.count()).select_from(cases)).scalar_one())





class CasesUnitOfWork(SqlUnitOfWork):
    def __enter__(self) -> CasesUnitOfWork:
        super().__enter__()
        self.cases = CaseRepository(self.session)
        return self
