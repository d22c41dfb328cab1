"""Dispatch wiring on the application container: its unit of work, and its typed slots: the placement
helper (road graphs of every travel mode + towns + jurisdictions), the catalogue, the group-commit intake
queue and the live board's fan-out hub."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from jingwu.dispatch.board_hub import BoardHub
from jingwu.dispatch.domain import RunCards, TypeTable
from jingwu.dispatch.geo import Geo
from jingwu.dispatch.intake import IntakeBatcher
from jingwu.dispatch.services import intake as intake_svc
from jingwu.dispatch.services.common import Catalogue
from jingwu.dispatch.services.sanity import Sanity
from jingwu.dispatch.settings import DispatchSettings
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.container import Container, Slot
from jingwu.platform.errors import AppError
from jingwu.routing.api import ROAD_GRAPH, ROAD_GRAPHS
from jingwu.routing.gazetteer.api import GAZETTEER


def dispatch_uow(c: Container) -> DispatchUnitOfWork:
    return DispatchUnitOfWork(c.session_factory, c.clock, after_commit=c.relay.kick if c.relay else None)


def dispatch_read_uow(c: Container) -> DispatchUnitOfWork:
    """For read-only use cases: on SQLite a deferred transaction that never waits for writers."""
    return DispatchUnitOfWork(c.reader(), c.clock)


def _build_geo(c: Container) -> Geo:
    with c.uow() as uow:
        towns = uow.towns.all()
        agencies = uow.agencies.in_subtree("/")
    return Geo.from_rows(c.get(ROAD_GRAPH), towns, agencies, graphs=c.get(ROAD_GRAPHS).graph,
                         gazetteer=lambda: c.get(GAZETTEER))


def _build_intake(c: Container) -> IntakeBatcher[intake_svc.IntakeItem]:
    def store(items: list[intake_svc.IntakeItem]) -> list[intake_svc.IntakeResult | AppError]:
        return intake_svc.receive_calls(items, uow=dispatch_uow(c), geo=geo(c), cat=catalogue(c))

    s = c.settings.section(DispatchSettings)
    return IntakeBatcher(store, max_batch=s.intake_max_batch, writers=s.intake_writers)


GEO: Slot[Geo] = Slot("dispatch.geo", _build_geo)
CATALOGUE: Slot[Catalogue] = Slot("dispatch.catalogue", lambda c: Catalogue(
    TypeTable.load(), RunCards.load(), ZoneInfo(c.settings.timezone)))
INTAKE: Slot[IntakeBatcher[intake_svc.IntakeItem]] = Slot("dispatch.intake", _build_intake)
BOARD_HUB: Slot[BoardHub] = Slot("dispatch.board_hub", lambda c: BoardHub())


def _build_sanity(c: Container) -> Sanity:
    s = c.settings.section(DispatchSettings)
    return Sanity(clock_skew=timedelta(seconds=s.position_clock_skew_seconds), area_margin_m=s.position_area_margin_m,
                  bbox=geo(c).graph.bbox, far_from_scene_m=s.arrival_far_from_scene_m,
                  too_soon_ratio=s.arrival_too_soon_ratio)


SANITY: Slot[Sanity] = Slot("dispatch.sanity", _build_sanity)


def sanity(c: Container) -> Sanity:
    """The thresholds of the sanity checks on what units report, with the served area (ADR 0018)."""
    return c.get(SANITY)


def geo(c: Container) -> Geo:
    return c.get(GEO)


def catalogue(c: Container) -> Catalogue:
    return c.get(CATALOGUE)


def intake(c: Container) -> IntakeBatcher[intake_svc.IntakeItem]:
    """The process's group-commit intake queue (started on first use, stopped by the app's lifespan)."""
    return c.get(INTAKE)


def stop_intake(c: Container) -> None:
    b = c.forget(INTAKE)
    if b is not None:
        b.stop()


# Organisation changes (platform.admin.ORG_CHANGED) that alter placement: towns, stations' jurisdictions and
# positions. Units are read from the database on each recommendation, so a unit change needs no rebuild.
GEO_ENTITIES = frozenset({"agency", "town"})


def on_org_changed(c: Container, payload: dict[str, object]) -> bool:
    """Drop the placement helper when an agency or town changed; it is rebuilt on next use (the road graph,
    its own slot, is kept). Returns whether it was dropped."""
    if payload.get("entity") in GEO_ENTITIES:
        c.forget(GEO)
        return True
    return False
