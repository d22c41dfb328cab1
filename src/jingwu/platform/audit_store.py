"""The audit log's storage: the writer that appends hash-chained entries under a lock of the chain
head, and the readers (every entry in order, the head, the most recent entries within a subtree).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, String, insert, select, type_coerce, update
from sqlalchemy.orm import Session

from jingwu.platform.clock import Clock
from jingwu.platform.domain import GENESIS_HASH, AuditRecord, audit_hash, canonical_json
from jingwu.platform.tables import agencies, audit_head, audit_log, in_subtree


class AuditWriter:
    """Appends hash-chained entries. Locks the chain head for the transaction."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.s = session
        self.clock = clock

    def write(self, *, actor: str, action: str, object_type: str, object_id: str | None = None,
              agency_id: str | None = None, reason: str | None = None,
              detail: dict[str, Any] | None = None) -> int:
        return self.write_many([AuditDraft(actor, action, object_type, object_id, agency_id, reason, detail)])[-1]

    def write_many(self, drafts: list[AuditDraft]) -> list[int]:
        """Chain several entries under one lock of the head (one round trip each for lock, insert, update)."""
        if not drafts:
            return []
        head = self.s.execute(
            select(audit_head.c.last_seq, audit_head.c.last_hash).where(audit_head.c.id == 1).with_for_update()
        ).one_or_none()
        if head is None:
            self.s.execute(insert(audit_head).values(id=1, last_seq=0, last_hash=GENESIS_HASH))
            last_seq, last_hash = 0, GENESIS_HASH
        else:
            last_seq, last_hash = head.last_seq, head.last_hash
        at = self.clock.now().astimezone(UTC)
        rows: list[dict[str, Any]] = []
        seqs: list[int] = []
        for d in drafts:
            seq = last_seq + 1
            seqs.append(seq)
            detail_json = canonical_json(d.detail or {})
            h = audit_hash(seq=seq, at=at, actor=d.actor, agency_id=d.agency_id, action=d.action,
                           object_type=d.object_type, object_id=d.object_id, reason=d.reason,
                           detail=detail_json, prev_hash=last_hash)
            rows.append({"seq": seq, "at": at, "actor": d.actor, "agency_id": d.agency_id, "action": d.action,
                         "object_type": d.object_type, "object_id": d.object_id, "reason": d.reason,
                         "detail": detail_json, "prev_hash": last_hash, "hash": h})
            last_seq, last_hash = seq, h
        self.s.execute(insert(audit_log), rows)
        self.s.execute(update(audit_head).where(audit_head.c.id == 1), {"last_seq": last_seq, "last_hash": last_hash})
        return seqs


@dataclass(frozen=True)
class AuditDraft:
    """An audit entry before it is chained."""

    actor: str
    action: str
    object_type: str
    object_id: str | None = None
    agency_id: str | None = None
    reason: str | None = None
    detail: dict[str, Any] | None = None


# Entries are read with the time as stored (text on SQLite) and converted here, so one malformed row
# is reported by its seq instead of failing the whole read.
_RAW = [type_coerce(audit_log.c.at, String).label("at") if c.name == "at" else c for c in audit_log.c]


def _as_time(v: object) -> datetime:
    if isinstance(v, datetime):
        t = v
    elif isinstance(v, str):
        t = datetime.fromisoformat(v)
    else:
        raise ValueError(f"time is {type(v).__name__}")
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _record(r: Row[Any]) -> AuditRecord:
    problems = []
    try:
        at: datetime | None = _as_time(r.at)
    except ValueError as exc:
        at = None
        problems.append(f"unreadable time {str(r.at)[:40]!r} ({exc})")
    for name in ("actor", "action", "object_type", "prev_hash", "hash"):
        if not isinstance(getattr(r, name), str):
            problems.append(f"{name} is missing")
    if r.detail is not None and not isinstance(r.detail, str):
        problems.append("detail is not text")
    return AuditRecord(r.seq, at, r.actor or "", r.agency_id, r.action or "", r.object_type or "", r.object_id,
                       r.reason, r.detail or "", r.prev_hash or "", r.hash or "",
                       problem="; ".join(problems) or None)


def iter_audit(session: Session, batch: int = 5000) -> Iterator[AuditRecord]:
    """All audit entries in storage order (by seq), streamed; a malformed row carries its problem."""
    last = 0
    while True:
        rows = session.execute(
            select(*_RAW).where(audit_log.c.seq > last).order_by(audit_log.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        for r in rows:
            yield _record(r)
        last = rows[-1].seq


def audit_head_state(session: Session) -> tuple[int, str]:
    r = session.execute(select(audit_head.c.last_seq, audit_head.c.last_hash)).one_or_none()
    return (r.last_seq, r.last_hash) if r else (0, GENESIS_HASH)


def recent_audit(session: Session, *, limit: int = 100, agency_path: str | None = None) -> list[AuditRecord]:
    q = select(*_RAW).order_by(audit_log.c.seq.desc()).limit(limit)
    if agency_path is not None:
        q = q.where(audit_log.c.agency_id.in_(select(agencies.c.id).where(in_subtree(agencies.c.path, agency_path))))
    return [_record(r) for r in session.execute(q)]
