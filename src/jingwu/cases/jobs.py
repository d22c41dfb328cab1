"""The reminder job (smart-station reminders): every ``reminder_interval_s`` seconds, evaluate the deadline
rules of every open case and push due-soon and overdue reminders (services/oversight.run_reminders)."""

from __future__ import annotations

import asyncio
import logging

from jingwu.cases.services.common import settings
from jingwu.cases.services.oversight import run_reminders
from jingwu.platform.container import Container

log = logging.getLogger("jingwu.cases")


class ReminderJob:
    def __init__(self, c: Container) -> None:
        self.c = c
        self.interval = settings(c).reminder_interval_s
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                r = await asyncio.to_thread(run_reminders, c=self.c)
                if r.reminders:
                    log.info("case reminders", extra={"cases": r.cases, "reminders": r.reminders})
            except Exception:
                log.exception("case reminder run failed")

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=5)
            self._task = None


def reminder_job(c: Container) -> ReminderJob | None:
    return ReminderJob(c) if settings(c).reminder_interval_s > 0 else None
