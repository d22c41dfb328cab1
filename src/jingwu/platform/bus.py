"""The event bus: one interface, two transports.

In-process by default; NATS JetStream when ``JINGWU_NATS_URL`` is set. Subjects
are NATS-style (``jingwu.dispatch.unit_dispatched``) with ``*`` (one token) and
``>`` (the rest) wildcards in subscriptions, on both transports.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], Awaitable[None]]


class EventBus(Protocol):
    async def start(self) -> None: ...
    async def publish(self, subject: str, payload: dict[str, Any]) -> None: ...
    async def subscribe(self, pattern: str, handler: Handler, *, durable: str | None = None) -> None: ...
    async def close(self) -> None: ...


def subject_matches(pattern: str, subject: str) -> bool:
    p, s = pattern.split("."), subject.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(s) > i
        if i >= len(s) or (tok != "*" and tok != s[i]):
            return False
    return len(p) == len(s)


class InProcessBus:
    """Delivers to handlers in this process, in publish order; a failing handler is logged, not fatal."""

    def __init__(self) -> None:
        self._subs: list[tuple[str, Handler]] = []

    async def start(self) -> None:
        return None

    async def publish(self, subject: str, payload: dict[str, Any]) -> None:
        for pattern, handler in list(self._subs):
            if subject_matches(pattern, subject):
                try:
                    await handler(subject, payload)
                except Exception:
                    log.exception("event handler failed", extra={"subject": subject})

    async def subscribe(self, pattern: str, handler: Handler, *, durable: str | None = None) -> None:
        self._subs.append((pattern, handler))

    async def close(self) -> None:
        self._subs.clear()


class NatsBus:
    """NATS JetStream: a stream holding ``<prefix>.>``; publishes are acknowledged by the server."""

    def __init__(self, url: str, stream: str = "JINGWU", prefix: str = "jingwu") -> None:
        self.url = url
        self.stream = stream
        self.prefix = prefix
        self._nc: Any = None
        self._js: Any = None
        self._subs: list[Any] = []

    async def start(self) -> None:
        import nats
        from nats.js.errors import NotFoundError

        self._nc = await nats.connect(self.url, connect_timeout=5, max_reconnect_attempts=5)
        self._js = self._nc.jetstream()
        try:
            await self._js.stream_info(self.stream)
        except NotFoundError:
            await self._js.add_stream(name=self.stream, subjects=[f"{self.prefix}.>"])

    async def publish(self, subject: str, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False, default=str).encode()
        await self._js.publish(subject, data, stream=self.stream)

    async def subscribe(self, pattern: str, handler: Handler, *, durable: str | None = None) -> None:
        async def _cb(msg: Any) -> None:
            try:
                await handler(msg.subject, json.loads(msg.data))
                await msg.ack()
            except Exception:
                log.exception("event handler failed", extra={"subject": msg.subject})
                await msg.nak()

        sub = await self._js.subscribe(pattern, cb=_cb, durable=durable, manual_ack=True,
                                       stream=self.stream)
        self._subs.append(sub)

    async def close(self) -> None:
        for sub in self._subs:
            try:
                await sub.unsubscribe()
            except Exception:
                log.debug("unsubscribe failed", exc_info=True)
        self._subs.clear()
        if self._nc is not None:
            await self._nc.drain()
            self._nc = None


def make_bus(nats_url: str | None, stream: str = "JINGWU") -> EventBus:
    return NatsBus(nats_url, stream) if nats_url else InProcessBus()


class OutboxRelay:
    """Moves committed outbox rows onto the bus; marks them published only after the bus accepted them.

    At-least-once: a crash between publish and mark re-sends, so handlers are idempotent.
    """

    def __init__(self, bus: EventBus, fetch: Callable[[int], list[tuple[int, str, dict[str, Any]]]],
                 mark: Callable[[list[int]], None], interval: float = 0.5) -> None:
        self.bus = bus
        self._fetch = fetch
        self._mark = mark
        self.interval = interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    def kick(self) -> None:
        """Called (from any thread) after a commit that wrote events."""
        loop = getattr(self, "_loop", None)
        if loop is not None:
            loop.call_soon_threadsafe(self._wake.set)

    async def drain_once(self, batch: int = 500) -> int:
        rows = await asyncio.to_thread(self._fetch, batch)
        done: list[int] = []
        for row_id, subject, payload in rows:
            try:
                await self.bus.publish(subject, payload)
            except Exception:
                log.exception("outbox publish failed; will retry", extra={"subject": subject})
                break
            done.append(row_id)
        if done:
            await asyncio.to_thread(self._mark, done)
            self.published += len(done)
        return len(done)

    async def _run(self) -> None:
        while True:
            try:
                while await self.drain_once() > 0:
                    pass
            except Exception:
                log.exception("outbox relay error")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            except TimeoutError:
                pass
            self._wake.clear()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run())

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop, then one last bounded drain (rows left behind are sent at the next start)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=timeout)
            self._task = None
        try:
            await asyncio.wait_for(self.drain_once(), timeout=timeout)
        except Exception:
            log.warning("outbox relay: final drain incomplete", exc_info=True)
