"""Duty notes' table and repository (the only module of the feature that imports SQLAlchemy)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table, Text, insert, select
from sqlalchemy.orm import Session

from jingwu.platform.tables import UTCDateTime, agencies, in_subtree, metadata, new_id
from jingwu.platform.uow import SqlUnitOfWork

duty_notes = Table(
    "example_duty_notes", metadata,
    Column("id", String(36), primary_key=True),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("author", String(200), nullable=False),
    Column("text", Text, nullable=False),
)

TABLES = (duty_notes,)


class DutyNoteRepository:
    def __init__(self, s: Session) -> None:
        self.s = s

    def add(self, *, agency_id: str, at: datetime, author: str, text: str) -> str:
        nid = new_id()
        self.s.execute(insert(duty_notes).values(id=nid, agency_id=agency_id, at=at, author=author, text=text))
        return nid

    def in_subtree(self, path: str) -> list[dict[str, object]]:
        q = (select(duty_notes).join(agencies, agencies.c.id == duty_notes.c.agency_id)
             .where(in_subtree(agencies.c.path, path)).order_by(duty_notes.c.at))
        return [dict(r._mapping) for r in self.s.execute(q)]


class DutyNotesUnitOfWork(SqlUnitOfWork):
    def __enter__(self) -> DutyNotesUnitOfWork:
        super().__enter__()
        self.notes = DutyNoteRepository(self.session)
        return self
