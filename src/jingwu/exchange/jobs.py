"""Exchange jobs inside the app: the federation relay and consumer (when this deployment has an id and
``JINGWU_EXCHANGE_RELAY`` is on) and the timer of request deadlines and 12-hour measure notices."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from jingwu.exchange.relay import FederationRelay
from jingwu.exchange.services import measures, requests
from jingwu.exchange.settings import ExchangeSettings
from jingwu.exchange.wiring import federation
from jingwu.platform.container import Container
from jingwu.platform.jobs import PeriodicJob

log = logging.getLogger("jingwu.exchange")


def tick(c: Container) -> dict[str, int]:
    """One round of the timers: request reminders and overdue marks, late measure notices escalated."""
    xs = c.settings.section(ExchangeSettings)
    counts = requests.tick(uow=c.uow(), reminder=timedelta(hours=xs.reminder_hours))
    counts["notices_late"] = measures.tick(uow=c.uow())
    return counts


class FederationJob:
    def __init__(self, relay: FederationRelay) -> None:
        self.relay = relay
        self._boot: asyncio.Task[None] | None = None

    def start(self) -> None:
        async def boot() -> None:
            try:
                await self.relay.connect()
            except Exception:
                log.exception("exchange: federation transport could not connect")
                return
            self.relay.start()
        self._boot = asyncio.create_task(boot())

    async def stop(self) -> None:
        if self._boot is not None:
            await asyncio.gather(self._boot, return_exceptions=True)
        await self.relay.stop()


def make_relay(c: Container) -> FederationRelay:
    xs = c.settings.section(ExchangeSettings)
    return FederationRelay(xs, federation(c), c.uow, xs.nats_url or c.settings.nats_url, read_factory=c.read_uow)


def federation_job(c: Container) -> FederationJob | None:
    xs = c.settings.section(ExchangeSettings)
    if not xs.deployment_id or not xs.relay:
        return None
    return FederationJob(make_relay(c))


def timer_job(c: Container) -> PeriodicJob | None:
    xs = c.settings.section(ExchangeSettings)
    if xs.timer_interval_s <= 0:
        return None
    return PeriodicJob("exchange.timers", lambda: tick(c), xs.timer_interval_s)
