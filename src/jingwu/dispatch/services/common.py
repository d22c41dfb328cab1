"""What the dispatch use cases share: the catalogue they interpret, loading an incident under a
permission, the stored incident as a domain Incident and back, who may report for a unit, and the one
dispatch-local haversine distance."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from jingwu.dispatch.domain import IncidentStatus, Level, RunCards, TypeTable
from jingwu.dispatch.incident import Incident
from jingwu.dispatch.rows import IncidentRow
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.errors import NotFound
from jingwu.platform.org_store import UnitRow


@dataclass(frozen=True)
class Catalogue:
    """Configurable data the use cases interpret."""

    types: TypeTable
    run_cards: RunCards
    timezone: ZoneInfo


def load_incident(uow: DispatchUnitOfWork, p: Principal, incident_id: str, perm: Permission) -> IncidentRow:
    """The incident, if it exists (404) and ``p`` holds ``perm`` over its agency (403)."""
    inc = uow.incidents.get(incident_id)
    if inc is None:
        raise NotFound(f"Incident {incident_id} does not exist.")
    p.require(perm, inc.agency_path)
    return inc


def require_incident(uow: DispatchUnitOfWork, incident_id: str) -> IncidentRow:
    """An incident another row refers to (assignment, location link): its absence is a broken invariant."""
    inc = uow.incidents.get(incident_id)
    if inc is None:
        raise RuntimeError(f"Incident {incident_id} is referred to but does not exist.")
    return inc


def incident_of(row: IncidentRow) -> Incident:
    """The domain Incident of a stored row: what its rules decide on."""
    return Incident(row.id, IncidentStatus(row.status), Level(row.level), row.dispatched_at, row.arrived_at,
                    row.closed_at, row.merged_into)


def store_incident(uow: DispatchUnitOfWork, before: Incident, after: Incident) -> None:
    """Write what a domain decision changed (nothing when it changed nothing)."""
    values = after.changes(before)
    if values:
        uow.incidents.update(after.id, **values)


def may_report(p: Principal, unit: UnitRow) -> None:
    """A unit's own crew reports for it (REPORT_STATUS); otherwise a dispatcher over its agency."""
    if p.can(Permission.REPORT_STATUS):
        p.require(Permission.REPORT_STATUS, unit.agency_path)
    else:
        p.require(Permission.DISPATCH, unit.agency_path)
