"""Group commit for call intake.

Every accepted call must be durable before its 201, and a durable commit costs
a disk flush and several round trips. Instead of one transaction per request,
requests wait in a queue and one writer thread stores whatever has queued
(up to ``max_batch``) in ONE transaction, then answers each request. Under
light load a batch holds one call and nothing waits; under heavy load the
batches grow and the commits per second stay few (docs/methods/dispatch.md,
ADR 0007).

The writer calls ``store(items) -> answers`` (services.intake.receive_calls, with
typed ``IntakeItem``s): one answer per item, an IntakeResult or the AppError that refused that item. If
``store`` itself fails (a database error), the items of that batch are tried
one by one, so one bad call cannot refuse the others.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from prometheus_client import Counter, Histogram

log = logging.getLogger("jingwu.dispatch.intake")

BATCH_SIZE = Histogram("jingwu_intake_batch_calls", "Calls stored per intake transaction",
                       buckets=(1, 2, 4, 8, 16, 32, 64, 128))
FAILED = Counter("jingwu_intake_batch_failures_total", "Intake transactions that failed and were split")

Item = TypeVar("Item")  # what a request queues: services.intake.IntakeItem in the app
_STOP = object()


class IntakeBatcher(Generic[Item]):
    def __init__(self, store: Callable[[list[Item]], Sequence[Any]], *, max_batch: int = 64, writers: int = 1) -> None:
        self._store = store
        self.max_batch = max_batch
        self.writers = writers
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()  # (item, future, loop) or _STOP
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stopped = False

    def _ensure_started(self) -> None:
        if self._threads:
            return
        with self._lock:
            if self._threads or self._stopped:
                return
            for n in range(self.writers):
                t = threading.Thread(target=self._run, name=f"intake-writer-{n}", daemon=True)
                t.start()
                self._threads.append(t)

    async def submit(self, item: Item) -> Any:
        """Queue one call and wait for its answer (raises the AppError that refused it)."""
        if self._stopped:
            raise RuntimeError("intake is shutting down")
        self._ensure_started()
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._q.put((item, fut, loop))
        return await fut

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then stop the writers."""
        self._stopped = True
        for _ in self._threads:
            self._q.put(_STOP)
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()

    # ------------------------------------------------------------------ writer thread

    def _run(self) -> None:
        while True:
            first = self._q.get()
            if first is _STOP:
                return
            batch = [first]
            stop_after = False
            while len(batch) < self.max_batch:
                try:
                    nxt = self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop_after = True
                    break
                batch.append(nxt)
            self._write(batch)
            if stop_after:
                return

    def _write(self, batch: list[tuple[Item, asyncio.Future[Any], asyncio.AbstractEventLoop]]) -> None:
        BATCH_SIZE.observe(len(batch))
        try:
            answers = list(self._store([b[0] for b in batch]))
        except Exception as exc:
            if len(batch) > 1:
                FAILED.inc()
                log.warning("intake batch of %d failed (%s); storing its calls one by one", len(batch), exc)
                for one in batch:
                    self._write([one])
                return
            answers = [exc]
        for (_item, fut, loop), answer in zip(batch, answers, strict=True):
            loop.call_soon_threadsafe(_settle, fut, answer)


def _settle(fut: asyncio.Future[Any], answer: Any) -> None:
    if fut.done():  # the client went away; the call is stored all the same
        return
    if isinstance(answer, BaseException):
        fut.set_exception(answer)
    else:
        fut.set_result(answer)
