"""The Incident model (警情): its legal status moves, taking units, arrival, settling (close or back to the
queue), merge into another incident and escalation. Use cases load a row, build an ``Incident``, decide
with it and store its changes. Standard library only (an import-linter contract), like domain.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from jingwu.dispatch.domain import LEVEL_ORDER, OPEN_STATUSES, IncidentStatus, Level
from jingwu.platform.errors import Conflict, InvalidInput

# ------------------------------------------------------------------ the incident

# The legal moves of an incident; anything else is refused. A second unit joins an incident in its current
# status; when every unit stood down before arrival, it goes back to the queue.
INCIDENT_NEXT: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    IncidentStatus.OPEN: frozenset({IncidentStatus.DISPATCHED, IncidentStatus.MERGED}),
    IncidentStatus.DISPATCHED: frozenset({IncidentStatus.ON_SCENE, IncidentStatus.CLOSED, IncidentStatus.OPEN}),
    IncidentStatus.ON_SCENE: frozenset({IncidentStatus.CLOSED}),
    IncidentStatus.CLOSED: frozenset(),
    IncidentStatus.MERGED: frozenset(),
}


INCIDENT_COLUMNS = ("status", "level", "dispatched_at", "arrived_at", "closed_at", "merged_into")


class IllegalIncidentTransition(Conflict):
    code = "illegal_incident_transition"


class IncidentClosed(Conflict):  # a closed or merged incident takes no units
    code = "incident_closed"


class InvalidMerge(Conflict):
    code = "invalid_merge"


class NotHigher(Conflict):  # escalation only goes up
    code = "not_higher"


class AssignmentState(Protocol):
    """What the close rule reads of each assignment of the incident (read-only)."""

    @property
    def active(self) -> bool: ...
    @property
    def feedback_at(self) -> datetime | None: ...
    @property
    def cancelled_at(self) -> datetime | None: ...


def refuse_self_merge(incident_id: str, into_id: str) -> None:
    if incident_id == into_id:
        raise InvalidInput("An incident cannot merge into itself.", code="invalid_merge")


@dataclass(frozen=True)
class Incident:
    """An incident's life: status, command level, merge and close. Methods return the changed incident
    (or refuse with a domain error); the caller stores what changed (``changes``)."""

    id: str
    status: IncidentStatus
    level: Level
    dispatched_at: datetime | None = None
    arrived_at: datetime | None = None
    closed_at: datetime | None = None
    merged_into: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def move(self, to: IncidentStatus) -> Incident:
        """A legal status move (INCIDENT_NEXT); anything else is refused."""
        if to not in INCIDENT_NEXT[self.status]:
            raise IllegalIncidentTransition(f"An incident cannot go from '{self.status.value}' to '{to.value}'.")
        return replace(self, status=to)

    def take_unit(self, at: datetime) -> Incident:
        """A unit is dispatched: an open incident takes it (a waiting one becomes dispatched)."""
        if not self.is_open:
            raise IncidentClosed(f"Incident is {self.status.value}; it cannot take units.")
        if self.status is not IncidentStatus.OPEN:
            return self
        return replace(self.move(IncidentStatus.DISPATCHED), dispatched_at=at)

    def unit_arrived(self, at: datetime) -> Incident:
        """The first unit on scene puts the incident on scene; later arrivals change nothing."""
        if self.arrived_at is not None:
            return self
        if self.status is IncidentStatus.ON_SCENE:
            return replace(self, arrived_at=at)
        return replace(self.move(IncidentStatus.ON_SCENE), arrived_at=at)

    def settle(self, assignments: Sequence[AssignmentState], at: datetime) -> Incident:
        """After a unit is released: close once no unit is active and at least one gave feedback; back to
        the queue when every unit stood down before arrival; otherwise unchanged."""
        if any(a.active for a in assignments) or self.status in (IncidentStatus.CLOSED, IncidentStatus.MERGED):
            return self
        if any(a.feedback_at for a in assignments):
            return replace(self.move(IncidentStatus.CLOSED), closed_at=at)
        if all(a.cancelled_at for a in assignments) and self.status is not IncidentStatus.OPEN:
            return self.move(IncidentStatus.OPEN)
        return self

    def merge_into(self, target: Incident, at: datetime) -> Incident:
        """A duplicate call joins an earlier incident: only an undispatched call, only into an open one."""
        refuse_self_merge(self.id, target.id)
        if self.status is not IncidentStatus.OPEN or not target.is_open:
            raise InvalidMerge("Only an undispatched call can merge into an open incident.")
        return replace(self.move(IncidentStatus.MERGED), merged_into=target.id, closed_at=at)

    def transfer_out(self, at: datetime) -> Incident:
        """A neighbouring agency accepted the call: an undispatched incident closes (disposition
        "transferred"); one with units committed stays (stand them down first)."""
        if self.status is not IncidentStatus.OPEN:
            raise IllegalIncidentTransition(
                f"Only an undispatched incident can be transferred; this one is {self.status.value}.")
        return replace(self, status=IncidentStatus.CLOSED, closed_at=at)

    def close_without_units(self, at: datetime) -> Incident:
        """A call handled without units (consultation, transfer, duplicate; ADR 0019) closes: only while
        no unit is committed to it."""
        if self.status is not IncidentStatus.OPEN:
            raise IllegalIncidentTransition(
                f"Only an incident without units closes this way; this one is {self.status.value}.")
        return replace(self, status=IncidentStatus.CLOSED, closed_at=at)

    def escalate(self, level: Level) -> Incident:
        """A commander raises the level; only upwards."""
        if LEVEL_ORDER[level] <= LEVEL_ORDER[self.level]:
            raise NotHigher(f"The incident is already at {self.level.value}.")
        return replace(self, level=level)

    def raise_level(self, level: Level) -> Incident:
        """The escalation rule raised ``level``: applied only when higher, never lowering."""
        return replace(self, level=level) if LEVEL_ORDER[level] > LEVEL_ORDER[self.level] else self

    def changes(self, before: Incident) -> dict[str, Any]:
        """The stored columns that differ from ``before`` (enums as their values)."""
        return {f: v.value if isinstance(v, StrEnum) else v for f in INCIDENT_COLUMNS
                if (v := getattr(self, f)) != getattr(before, f)}
