"""The unit of work: one transaction shared by the platform's repositories, the audit writer and the
outbox; events emitted in it are written to the outbox when it commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from jingwu.platform.audit_store import AuditWriter, audit_head_state, iter_audit, recent_audit
from jingwu.platform.clock import Clock
from jingwu.platform.deployment_store import DeploymentConfigRepository
from jingwu.platform.domain import AuditRecord
from jingwu.platform.org_store import AgencyRepository, TownRepository, UnitRepository
from jingwu.platform.outbox_store import OutboxRepository
from jingwu.platform.user_store import SessionRepository, UserRepository


@dataclass(frozen=True)
class Event:
    """A fact that leaves the transaction through the outbox (topic like 'jingwu.org.user_created')."""

    topic: str
    payload: dict[str, Any]


class SqlUnitOfWork:
    """One transaction: repositories, the audit writer and the outbox share it.

    Events collected with ``emit`` are written to the outbox in the same
    transaction, so an event exists if and only if its state change does.
    """

    def __init__(self, session_factory: Callable[[], Session], clock: Clock,
                 after_commit: Callable[[], None] | None = None) -> None:
        self._factory = session_factory
        self.clock = clock
        self._after_commit = after_commit

    def __enter__(self) -> SqlUnitOfWork:
        self.session = self._factory()
        self.agencies = AgencyRepository(self.session)
        self.towns = TownRepository(self.session)
        self.units = UnitRepository(self.session)
        self.users = UserRepository(self.session)
        self.sessions = SessionRepository(self.session)
        self.config = DeploymentConfigRepository(self.session)
        self.audit = AuditWriter(self.session, self.clock)
        self.outbox = OutboxRepository(self.session)
        self._events: list[Event] = []
        self._committed = False
        return self

    def audit_head(self) -> tuple[int, str]:
        return audit_head_state(self.session)

    def audit_entries(self) -> Iterator[AuditRecord]:
        return iter_audit(self.session)

    def recent_audit(self, *, limit: int, agency_path: str | None) -> list[AuditRecord]:
        return recent_audit(self.session, limit=limit, agency_path=agency_path)

    def emit(self, topic: str, payload: dict[str, Any]) -> None:
        self._events.append(Event(topic, payload))

    def commit(self) -> None:
        self.outbox.add_many([(ev.topic, ev.payload) for ev in self._events], self.clock.now())
        self.session.commit()
        had_events = bool(self._events)
        self._events = []
        self._committed = True
        if had_events and self._after_commit is not None:
            self._after_commit()

    def rollback(self) -> None:
        self.session.rollback()
        self._events = []

    def __exit__(self, *exc: object) -> None:
        if not self._committed:
            self.session.rollback()
        self.session.close()
