"""The outbox's storage: events written in the transaction of their state change, read back and
marked published by the relay.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from jingwu.platform.domain import canonical_json
from jingwu.platform.tables import outbox


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, topic: str, payload: dict[str, Any], at: datetime) -> None:
        self.add_many([(topic, payload)], at)

    def add_many(self, events: list[tuple[str, dict[str, Any]]], at: datetime) -> None:
        if events:
            self.s.execute(insert(outbox), [{"topic": t, "payload": canonical_json(p), "created_at": at}
                                            for t, p in events])

    def pending(self, limit: int = 500) -> list[tuple[int, str, dict[str, Any]]]:
        rows = self.s.execute(
            select(outbox.c.id, outbox.c.topic, outbox.c.payload)
            .where(outbox.c.published_at.is_(None)).order_by(outbox.c.id).limit(limit)
        ).all()
        return [(r.id, r.topic, json.loads(r.payload)) for r in rows]

    def mark_published(self, ids: list[int], at: datetime) -> None:
        if ids:
            self.s.execute(update(outbox).where(outbox.c.id.in_(ids)).values(published_at=at))
