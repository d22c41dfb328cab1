"""Dispatch wiring on the application container: its unit of work, the
placement helper (road graph + towns + jurisdictions) and the catalogue."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from jingwu.dispatch import services
from jingwu.dispatch.domain import RunCards, TypeTable
from jingwu.dispatch.geo import Geo
from jingwu.dispatch.intake import IntakeBatcher, Item
from jingwu.dispatch.services import Catalogue
from jingwu.dispatch.store import DispatchUnitOfWork
from jingwu.platform.container import Container
from jingwu.platform.errors import AppError


def dispatch_uow(c: Container) -> DispatchUnitOfWork:
    return DispatchUnitOfWork(c.session_factory, c.clock, after_commit=c.relay.kick if c.relay else None)


def dispatch_read_uow(c: Container) -> DispatchUnitOfWork:
    """For read-only use cases: on SQLite a deferred transaction that never waits for writers."""
    return DispatchUnitOfWork(c.reader(), c.clock)


def geo(c: Container) -> Geo:
    def build() -> Geo:
        with c.uow() as uow:
            towns = uow.towns.all()
            agencies = uow.agencies.in_subtree("/")
        return Geo.from_rows(c.graph(), towns, agencies)

    g: Geo = c.cached("dispatch.geo", build)
    return g


def catalogue(c: Container) -> Catalogue:
    cat: Catalogue = c.cached("dispatch.catalogue", lambda: Catalogue(
        TypeTable.load(), RunCards.load(), ZoneInfo(c.settings.timezone)))
    return cat


def intake(c: Container) -> IntakeBatcher:
    """The process's group-commit intake queue (started on first use, stopped by the app's lifespan)."""
    def build() -> IntakeBatcher:
        def store(items: list[Item]) -> list[services.IntakeResult | AppError]:
            return services.receive_calls(items, uow=dispatch_uow(c), geo=geo(c), cat=catalogue(c))

        return IntakeBatcher(store, max_batch=c.settings.intake_max_batch, writers=c.settings.intake_writers)

    b: IntakeBatcher = c.cached("dispatch.intake", build)
    return b


def stop_intake(c: Container) -> None:
    b: IntakeBatcher | None = c.uncache("dispatch.intake")
    if b is not None:
        b.stop()
