"""Background work inside the app process: a periodic job that runs a blocking
function in a worker thread every few seconds, logging (not raising) failures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger("jingwu.jobs")


class PeriodicJob:
    def __init__(self, name: str, fn: Callable[[], object], interval: float) -> None:
        self.name = name
        self.fn = fn
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.fn)
            except Exception:
                log.exception("job failed", extra={"job": self.name})
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=5)
            self._task = None
