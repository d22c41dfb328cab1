"""The audit log's storage: the writer that appends hash-chained entries under a lock of the chain
head, and the readers (every entry in order, the head, the most recent entries within a subtree).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import insert, select, update
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


def iter_audit(session: Session, batch: int = 5000) -> Iterator[AuditRecord]:
    """All audit entries in storage order (by seq), streamed."""
    last = 0
    while True:
        rows = session.execute(
            select(audit_log).where(audit_log.c.seq > last).order_by(audit_log.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        for r in rows:
            yield AuditRecord(r.seq, r.at, r.actor, r.agency_id, r.action, r.object_type, r.object_id,
                              r.reason, r.detail, r.prev_hash, r.hash)
        last = rows[-1].seq


def audit_head_state(session: Session) -> tuple[int, str]:
    r = session.execute(select(audit_head.c.last_seq, audit_head.c.last_hash)).one_or_none()
    return (r.last_seq, r.last_hash) if r else (0, GENESIS_HASH)


def recent_audit(session: Session, *, limit: int = 100, agency_path: str | None = None) -> list[AuditRecord]:
    q = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
    if agency_path is not None:
        q = q.where(audit_log.c.agency_id.in_(select(agencies.c.id).where(in_subtree(agencies.c.path, agency_path))))
    return [AuditRecord(r.seq, r.at, r.actor, r.agency_id, r.action, r.object_type, r.object_id,
                        r.reason, r.detail, r.prev_hash, r.hash) for r in session.execute(q)]
