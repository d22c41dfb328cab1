"""Whole-set dispatch (ADR 0019): send the run card's missing units in one action, and "send the next
best" after a refusal or a stand-down. Recommendation and routes are computed read-only first; then each
unit goes out through the one-click ``dispatch_unit``, in its own transaction: a unit another dispatcher
took meanwhile is refused and reported, the others go out, and no unit is ever half-assigned."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from jingwu.dispatch.domain import UnitStatus
from jingwu.dispatch.geo import Geo
from jingwu.dispatch.rows import AssignmentRow
from jingwu.dispatch.services import assignments
from jingwu.dispatch.services.common import Catalogue
from jingwu.dispatch.services.planning import PlannedRoute, missing, plan_route, required_set
from jingwu.dispatch.services.recommend import Recommendation, recommend
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.domain import Principal
from jingwu.platform.errors import AppError, Conflict

UowFactory = Callable[[], DispatchUnitOfWork]
NEXT_TRIES = 5  # "send the next best" tries this many candidates when others take them first


@dataclass(frozen=True)
class Refusal:
    unit_id: str
    call_sign: str
    kind: str
    code: str
    message: str


@dataclass(frozen=True)
class SetResult:
    incident_id: str
    required: dict[str, int]
    run_card: str
    missing: dict[str, int]  # before this action
    sent: list[tuple[AssignmentRow, str, str]] = field(default_factory=list)  # assignment, call sign, kind
    refused: list[Refusal] = field(default_factory=list)
    still_missing: dict[str, int] = field(default_factory=dict)  # after it (refusals, too few units)


def _no_units_handling(handling: str | None) -> None:
    if handling:
        raise Conflict(f"This call is handled as {handling}: no set is sent (override per unit, with a reason).",
                       code="handling_no_units")


def _state(p: Principal, incident_id: str, uow_factory: UowFactory, geo: Geo, cat: Catalogue
           ) -> tuple[list[Recommendation], dict[str, int], str, dict[str, int], set[str]]:
    """Read-only: the available units ranked, the required set, what is missing and who was already sent."""
    inc, _need, _rule, recs = recommend(p, incident_id, uow=uow_factory(), geo=geo, cat=cat, limit=1000,
                                        include_handled=True)
    _no_units_handling(inc.handling)
    need, rule = required_set(inc, geo, cat)
    with uow_factory() as uow:
        asgs = uow.assignments.for_incident(inc.id)
        kinds = {a.unit_id: uow.units.get(a.unit_id).kind for a in asgs}
    recs = [r for r in recs if r.unit.status == UnitStatus.AVAILABLE.value and r.in_scope]
    return recs, need, rule, missing(need, asgs, kinds), set(kinds)


def _send(p: Principal, incident_id: str, r: Recommendation, need: dict[str, int], uow_factory: UowFactory,
          route: PlannedRoute | None) -> AssignmentRow:
    return assignments.dispatch_unit(p, incident_id, r.unit.id, uow=uow_factory(), route=route,
                                     eta_seconds=r.eta_seconds, required=need)


def dispatch_set(p: Principal, incident_id: str, *, uow_factory: UowFactory, geo: Geo, cat: Catalogue) -> SetResult:
    """Send every unit of the run card's required set not yet sent: per kind the available units with the
    shortest ETA. 409 ``nothing_missing`` when the set is complete, ``no_unit_available`` when no unit of a
    missing kind is available (fewer than missing: those available go, the rest is ``still_missing``)."""
    recs, need, rule, miss, _been = _state(p, incident_id, uow_factory, geo, cat)
    if not miss:
        raise Conflict("Every unit the run card requires is already sent.", code="nothing_missing")
    chosen: list[Recommendation] = []
    for kind, n in miss.items():
        chosen += [r for r in recs if r.unit.kind == kind][:n]
    if not chosen:
        raise Conflict(f"No unit of the missing kinds ({', '.join(miss)}) is available.", code="no_unit_available")
    with uow_factory() as uow:  # the routes, read-only, before any write
        inc = uow.incidents.get(incident_id)
    routes = {r.unit.id: plan_route(geo, inc, r.unit) if inc else None for r in chosen}
    out = SetResult(incident_id, need, rule, miss)
    for r in chosen:
        try:
            a = _send(p, incident_id, r, need, uow_factory, routes[r.unit.id])
        except AppError as exc:  # taken meanwhile (unit_unavailable), deactivated, the incident closed ...
            out.refused.append(Refusal(r.unit.id, r.unit.call_sign, r.unit.kind, exc.code, exc.message))
            continue
        out.sent.append((a, r.unit.call_sign, r.unit.kind))
    left = dict(miss)
    for _a, _cs, kind in out.sent:
        left[kind] -= 1
    out.still_missing.update({k: n for k, n in left.items() if n > 0})
    return out


def dispatch_next(p: Principal, incident_id: str, *, uow_factory: UowFactory, geo: Geo, cat: Catalogue
                  ) -> tuple[AssignmentRow, Recommendation, list[Refusal]]:
    """Send the next best unit: a kind still missing from the set first, then one the run card asks for, by
    ETA; never a unit that was already on this incident (it refused or was stood down). A candidate taken
    meanwhile is skipped (reported). 409 ``no_unit_available`` when none can go."""
    recs, need, _rule, miss, been = _state(p, incident_id, uow_factory, geo, cat)
    cands = sorted((r for r in recs if r.unit.id not in been),
                   key=lambda r: (r.unit.kind not in miss, not r.matches_run_card,
                                  r.eta_seconds if r.eta_seconds is not None else float("inf")))
    with uow_factory() as uow:
        inc = uow.incidents.get(incident_id)
    skipped: list[Refusal] = []
    for r in cands[:NEXT_TRIES]:
        route = plan_route(geo, inc, r.unit) if inc else None
        try:
            return _send(p, incident_id, r, need, uow_factory, route), r, skipped
        except AppError as exc:
            if exc.code not in ("unit_unavailable", "unit_inactive"):
                raise
            skipped.append(Refusal(r.unit.id, r.unit.call_sign, r.unit.kind, exc.code, exc.message))
    raise Conflict("No further unit is available for this incident.", code="no_unit_available")
