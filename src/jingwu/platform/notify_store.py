"""The notification outbox's storage: ``notifications`` (one row per message to one address, written in the
caller's transaction, idempotent on ``dedupe_key``) and ``notification_attempts`` (one row per delivery
attempt). The repository claims due rows with a lease (a conditional UPDATE, so two workers never hold
the same row), records outcomes under the claim token and lists rows for the administration page.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    and_,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jingwu.platform.tables import UTCDateTime, agencies, in_subtree, metadata

notifications = Table(
    "notifications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("channel", String(16), nullable=False),
    Column("address", String(320), nullable=False),
    Column("template", String(100), nullable=False),
    Column("lang", String(8), nullable=False),
    Column("params", Text, nullable=False),  # JSON object of strings
    Column("ref", String(200), nullable=False, server_default=""),
    Column("agency_id", String(36), nullable=True, index=True),
    Column("status", String(16), nullable=False, index=True),  # queued|sending|delivered|failed|dead
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False, index=True),
    Column("due_by", UTCDateTime, nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("claim_token", String(32), nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("provider_ref", String(200), nullable=True),
)

notification_attempts = Table(
    "notification_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notification_id", String(36), ForeignKey("notifications.id"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),  # delivered|failed|dead
    Column("adapter", String(16), nullable=False),
    Column("detail", Text, nullable=True),  # error text, addresses masked
    Column("provider_ref", String(200), nullable=True),
)

NOTIFY_TABLES = (notifications, notification_attempts)

RETRYABLE = ("queued", "failed")


@dataclass(frozen=True)
class NotificationRow:
    id: str
    dedupe_key: str
    channel: str
    address: str
    template: str
    lang: str
    params: dict[str, str]
    ref: str
    agency_id: str | None
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    due_by: datetime | None
    lease_until: datetime | None
    claim_token: str | None
    delivered_at: datetime | None
    last_error: str | None
    provider_ref: str | None


@dataclass(frozen=True)
class AttemptRow:
    attempt: int
    started_at: datetime
    finished_at: datetime
    outcome: str
    adapter: str
    detail: str | None
    provider_ref: str | None


def _row(r: Any) -> NotificationRow:
    m = r._mapping
    return NotificationRow(**{k: m[k] for k in NotificationRow.__dataclass_fields__ if k != "params"},
                           params=json.loads(m["params"]))


class NotificationRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def by_dedupe_key(self, key: str) -> str | None:
        return self.s.execute(select(notifications.c.id).where(notifications.c.dedupe_key == key)).scalar()

    def add(self, values: dict[str, Any]) -> str:
        """Insert a queued row; when another transaction inserted the same ``dedupe_key`` first, return
        that row's id instead (the insert runs in a savepoint, so the caller's transaction survives)."""
        values = {**values, "params": json.dumps(values["params"], ensure_ascii=False, sort_keys=True)}
        try:
            with self.s.begin_nested():
                self.s.execute(insert(notifications).values(**values))
        except IntegrityError:
            got = self.by_dedupe_key(values["dedupe_key"])
            if got is None:
                raise
            return got
        return str(values["id"])

    def get(self, nid: str) -> NotificationRow | None:
        r = self.s.execute(select(notifications).where(notifications.c.id == nid)).one_or_none()
        return None if r is None else _row(r)

    def due_ids(self, now: datetime, limit: int, only: str | None = None) -> list[str]:
        """Rows to claim: queued or failed whose time has come, and sending rows whose lease ran out
        (their worker died), earliest first."""
        cond = or_(and_(notifications.c.status.in_(RETRYABLE), notifications.c.next_attempt_at <= now),
                   and_(notifications.c.status == "sending", notifications.c.lease_until < now))
        q = select(notifications.c.id).where(cond)
        if only is not None:
            q = q.where(notifications.c.id == only)
        q = q.order_by(notifications.c.next_attempt_at, notifications.c.id).limit(limit)
        return list(self.s.execute(q).scalars())

    def claim(self, nid: str, *, token: str, now: datetime, lease_until: datetime) -> bool:
        """Take the row for one attempt if it is still due (a conditional UPDATE: of two workers racing for
        the row, exactly one changes it). The attempt is counted now, so a crash mid-send counts."""
        cond = or_(and_(notifications.c.status.in_(RETRYABLE), notifications.c.next_attempt_at <= now),
                   and_(notifications.c.status == "sending", notifications.c.lease_until < now))
        res = self.s.execute(update(notifications).where(notifications.c.id == nid, cond).values(
            status="sending", claim_token=token, lease_until=lease_until, attempts=notifications.c.attempts + 1))
        return bool(getattr(res, "rowcount", 0) == 1)

    def finish(self, nid: str, *, token: str, values: dict[str, Any]) -> bool:
        """Record the outcome of an attempt if this worker still holds the claim."""
        res = self.s.execute(update(notifications)
                             .where(notifications.c.id == nid, notifications.c.claim_token == token)
                             .values(claim_token=None, lease_until=None, **values))
        return bool(getattr(res, "rowcount", 0) == 1)

    def add_attempt(self, values: dict[str, Any]) -> None:
        self.s.execute(insert(notification_attempts).values(**values))

    def attempts_of(self, nid: str) -> list[AttemptRow]:
        rows = self.s.execute(select(notification_attempts).where(notification_attempts.c.notification_id == nid)
                              .order_by(notification_attempts.c.id)).all()
        return [AttemptRow(**{k: r._mapping[k] for k in AttemptRow.__dataclass_fields__}) for r in rows]

    def requeue(self, nid: str, now: datetime) -> bool:
        """An administrator's retry: a failed or dead row becomes queued, due now, with a fresh attempt count."""
        res = self.s.execute(update(notifications)
                             .where(notifications.c.id == nid, notifications.c.status.in_(("failed", "dead")))
                             .values(status="queued", next_attempt_at=now, attempts=0, last_error=None))
        return bool(getattr(res, "rowcount", 0) == 1)

    def listing(self, *, agency_path: str | None, include_unscoped: bool, statuses: Sequence[str] = (),
                ref: str | None = None, limit: int = 200) -> list[NotificationRow]:
        """Newest first, within an agency subtree (``agency_path`` None: all); rows without an agency only
        when ``include_unscoped``."""
        q = select(notifications)
        if agency_path is not None:
            scoped = notifications.c.agency_id.in_(select(agencies.c.id).where(in_subtree(agencies.c.path,
                                                                                          agency_path)))
            q = q.where(or_(scoped, notifications.c.agency_id.is_(None)) if include_unscoped else scoped)
        if statuses:
            q = q.where(notifications.c.status.in_(list(statuses)))
        if ref:
            q = q.where(notifications.c.ref == ref)
        q = q.order_by(notifications.c.created_at.desc(), notifications.c.id).limit(limit)
        return [_row(r) for r in self.s.execute(q).all()]

    def counts(self) -> dict[str, int]:
        rows = self.s.execute(select(notifications.c.status, func.count()).group_by(notifications.c.status)).all()
        return {str(r[0]): int(r[1]) for r in rows}


def repo(uow: Any) -> NotificationRepository:
    """The repository on a unit of work's session (any unit of work with a ``session``)."""
    return NotificationRepository(uow.session)
