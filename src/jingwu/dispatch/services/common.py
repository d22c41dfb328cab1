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
from jingwu.platform.domain import AgencyKind, Permission, Principal
from jingwu.platform.errors import Forbidden, InvalidInput, NotFound
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


def may_report(uow: DispatchUnitOfWork, p: Principal, unit: UnitRow) -> None:
    """Who may change a unit's status, position or stand it down (ADR 0018): a dispatcher of the unit's agency
    or of an agency above it, or an officer on the unit's crew now. Anyone else: 403 (out_of_scope when the
    unit lies outside their agency, else not_on_crew)."""
    if p.can(Permission.DISPATCH) and p.in_scope(unit.agency_path):
        return
    if p.can(Permission.REPORT_STATUS) and uow.crews.on_crew(unit.id, p.user_id, uow.clock.now()):
        return
    if not p.can(Permission.DISPATCH) and not p.can(Permission.REPORT_STATUS):
        raise Forbidden(f"Your roles do not allow '{Permission.REPORT_STATUS.value}'.", code="missing_role")
    if not p.in_scope(unit.agency_path):
        raise Forbidden("This unit belongs to an agency outside your scope.", code="out_of_scope")
    raise Forbidden(f"Only the crew of {unit.call_sign} or a dispatcher of its agency reports for it: sign on "
                    "to the unit first.", code="not_on_crew")


class AgencyHome:
    """The agency a call belongs to when no station's jurisdiction holds it: for a call outside the served
    area the city bureau of the agency that received it (the nearest city bureau on its path), else the
    root of the agency tree; for an unlocated call the receiving agency itself. Cached for one transaction."""

    def __init__(self, uow: DispatchUnitOfWork) -> None:
        self.uow = uow
        self._kinds: dict[str, str] = {}
        self._root: str | None = None

    def roots(self) -> list[str]:
        return [a.id for a in self.uow.agencies.in_subtree("/") if a.parent_id is None]

    def root(self) -> str:
        """The top agency (the first by path when a deployment has several)."""
        if self._root is None:
            roots = self.roots()
            if not roots:
                raise InvalidInput("No agency exists to receive calls: set up the agency tree first.",
                                   code="no_agency")
            self._root = roots[0]
        return self._root

    def _kind(self, agency_id: str) -> str:
        if agency_id not in self._kinds:
            self._kinds[agency_id] = self.uow.agencies.get(agency_id).kind
        return self._kinds[agency_id]

    def receiving(self, agency_id: str | None, *, city: bool) -> str:
        if agency_id is None:
            return self.root()
        if not city:
            return agency_id
        path = [x for x in self.uow.agencies.get(agency_id).path.strip("/").split("/") if x]
        for aid in reversed(path):
            if self._kind(aid) == AgencyKind.CITY_BUREAU.value:
                return aid
        return path[0]
