"""Safety Index jobs: the bus subscription for ``jingwu.incidents.recorded``
(idempotent by incident_id; late incidents trigger the incremental update of
the days they change), the daily computation at the configured local time and
the hourly escalation of overdue supervision tickets.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jingwu.platform.container import Container, Slot
from jingwu.platform.errors import InvalidInput
from jingwu.platform.feature import BatchHandler, Handler
from jingwu.safety_index.config import SafetyIndexSettings, load_method
from jingwu.safety_index.domain import Method
from jingwu.safety_index.importer import TownLocator
from jingwu.safety_index.services.common import ComputeSummary
from jingwu.safety_index.services.compute import daily
from jingwu.safety_index.services.ingest import fact_from_event, ingest
from jingwu.safety_index.services.tickets import escalate_overdue

log = logging.getLogger("jingwu.safety_index")

# The point-in-town locator for events without a town, keyed by the town set it was built from.
TOWN_LOCATORS: Slot[dict[tuple[str, ...], TownLocator]] = Slot("safety_index.town_locators", lambda c: {})


def _tz(c: Container) -> ZoneInfo:
    return ZoneInfo(c.settings.timezone)


def _method(si: SafetyIndexSettings) -> Method:
    return load_method(si.method_file)


def _town_locator(c: Container) -> TownLocator:
    """The point-in-town index of the towns in service (inactive towns place no new events), rebuilt when
    the set of towns changed or an administrator changed a town (``on_org_changed``)."""
    with c.uow() as uow:
        towns = uow.towns.active()
    cache = c.get(TOWN_LOCATORS)
    key = tuple(t.id for t in towns)
    loc = cache.get(key)
    if loc is None:
        cache.clear()  # one town set at a time: a changed set replaces the old locator
        loc = cache[key] = TownLocator(towns)
    return loc


def on_org_changed(c: Container, payload: dict[str, Any]) -> bool:
    """An administrator changed a town (boundary, activation, ...): drop the town locator, rebuilt on next
    use. Returns whether it was dropped."""
    if payload.get("entity") == "town":
        c.forget(TOWN_LOCATORS)
        return True
    return False


def org_handler(container: Container) -> Handler:
    async def _on_org(_subject: str, payload: dict[str, Any]) -> None:
        on_org_changed(container, payload)

    return _on_org


def handle_incidents(c: Container, payloads: list[dict[str, Any]], si: SafetyIndexSettings | None = None
                     ) -> set[date]:
    """Store a batch of incident events in one transaction (bad events are logged and skipped); recompute
    already-scored days they change. Returns the changed days. Events without a town are placed by their
    position; the towns are read at most once per batch."""
    import numpy as np

    si = si or c.settings.section(SafetyIndexSettings)
    locator: TownLocator | None = None

    def locate(lon: float, lat: float) -> str | None:
        nonlocal locator
        if locator is None:
            locator = _town_locator(c)
        return locator.locate(np.array([lon]), np.array([lat]))[0]

    facts = []
    for payload in payloads:
        try:
            facts.append(fact_from_event(payload, locate))
        except InvalidInput as exc:
            log.warning("incident event refused: %s", exc.message)
    if not facts:
        return set()
    ch, _ = ingest(facts, uow_factory=c.uow, clock=c.clock, tz=_tz(c), method=_method(si),
                   ticket_recent_days=si.ticket_recent_days, ticket_deadline_days=si.ticket_deadline_days)
    return ch.days


def incident_handler(container: Container) -> BatchHandler:
    """The handler of the subscription to recorded incidents. Events arrive in batches: one transaction
    under the index lock per batch, not per incident."""

    async def _on_incidents(events: list[tuple[str, dict[str, Any]]]) -> None:
        await asyncio.to_thread(handle_incidents, container, [payload for _subject, payload in events])

    return _on_incidents


def run_daily(c: Container, si: SafetyIndexSettings | None = None) -> ComputeSummary:
    si = si or c.settings.section(SafetyIndexSettings)
    summary = daily(uow_factory=c.uow, clock=c.clock, tz=_tz(c), method=_method(si),
                             ticket_recent_days=si.ticket_recent_days, ticket_deadline_days=si.ticket_deadline_days)
    escalate_overdue(uow=c.uow())
    return summary


def next_run(now: datetime, at_local: Any, tz: ZoneInfo) -> datetime:
    """The next instant (aware) at which the local wall clock shows ``at_local``."""
    local = now.astimezone(tz)
    cand = local.replace(hour=at_local.hour, minute=at_local.minute, second=0, microsecond=0)
    if cand <= local:
        cand = cand + timedelta(days=1)
    return cand


class DailyScheduler:
    """Runs the daily computation at the configured local time and escalates overdue tickets hourly."""

    def __init__(self, c: Container, si: SafetyIndexSettings | None = None) -> None:
        self.c = c
        self.si = si or c.settings.section(SafetyIndexSettings)
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            now = self.c.clock.now()
            due = next_run(now, self.si.daily_at, _tz(self.c))
            wait = min(3600.0, max(1.0, (due - now).total_seconds()))
            await asyncio.sleep(wait)
            try:
                if self.c.clock.now() >= due:
                    s = await asyncio.to_thread(run_daily, self.c, self.si)
                    log.info("safety index computed", extra={"first": str(s.first), "last": str(s.last)})
                else:
                    await asyncio.to_thread(escalate_overdue, uow=self.c.uow())
            except Exception:
                log.exception("safety index job failed")

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=5)
            self._task = None
