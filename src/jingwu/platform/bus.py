"""The event bus: one interface, two transports.

In-process by default; NATS JetStream when ``JINGWU_NATS_URL`` is set. Subjects
are NATS-style (``jingwu.dispatch.unit_dispatched``) with ``*`` (one token) and
``>`` (the rest) wildcards in subscriptions, on both transports.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from jingwu.platform.domain import canonical_json

log = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], Awaitable[None]]
Events = list[tuple[str, dict[str, Any]]]
BatchHandler = Callable[[Events], Awaitable[None]]


class EventBus(Protocol):
    async def start(self) -> None: ...
    async def publish(self, subject: str, payload: dict[str, Any]) -> None: ...
    async def publish_many(self, events: Events, *, msg_ids: list[str] | None = None) -> None:
        """Publish in order. ``msg_ids`` (one per event) let a broker drop a re-sent duplicate."""
    async def subscribe(self, pattern: str, handler: Handler, *, durable: str | None = None) -> None: ...
    async def subscribe_batch(self, pattern: str, handler: BatchHandler, *, durable: str,
                              max_batch: int = 500) -> None:
        """The handler gets the matching events in batches (in order); a batch is acknowledged as a whole
        when the handler returns and delivered again when it raises."""
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
        self._batch_subs: list[tuple[str, BatchHandler, int]] = []

    async def start(self) -> None:
        return None

    async def publish(self, subject: str, payload: dict[str, Any]) -> None:
        await self.publish_many([(subject, payload)])

    async def publish_many(self, events: Events, *, msg_ids: list[str] | None = None) -> None:
        for subject, payload in events:
            for pattern, handler in list(self._subs):
                if subject_matches(pattern, subject):
                    try:
                        await handler(subject, payload)
                    except Exception:
                        log.exception("event handler failed", extra={"subject": subject})
        for pattern, bhandler, size in list(self._batch_subs):
            matched = [e for e in events if subject_matches(pattern, e[0])]
            for i in range(0, len(matched), size):
                try:
                    await bhandler(matched[i:i + size])
                except Exception:
                    log.exception("event batch handler failed", extra={"subject": pattern})

    async def subscribe(self, pattern: str, handler: Handler, *, durable: str | None = None) -> None:
        self._subs.append((pattern, handler))

    async def subscribe_batch(self, pattern: str, handler: BatchHandler, *, durable: str,
                              max_batch: int = 500) -> None:
        self._batch_subs.append((pattern, handler, max_batch))

    async def close(self) -> None:
        self._subs.clear()
        self._batch_subs.clear()


class NatsBus:
    """NATS JetStream: a stream holding ``<prefix>.>``; publishes are acknowledged by the server."""

    def __init__(self, url: str, stream: str = "JINGWU", prefix: str = "jingwu") -> None:
        self.url = url
        self.stream = stream
        self.prefix = prefix
        self._nc: Any = None
        self._js: Any = None
        self._subs: list[Any] = []
        self._pullers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        import nats
        from nats.js.errors import NotFoundError

        self._nc = await nats.connect(self.url, connect_timeout=5, max_reconnect_attempts=5)
        self._js = self._nc.jetstream()
        try:
            await self._js.stream_info(self.stream)
        except NotFoundError:
            await self._js.add_stream(name=self.stream, subjects=[f"{self.prefix}.>"])

    async def publish(self, subject: str, payload: dict[str, Any], *, msg_id: str | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False, default=str).encode()
        await self._js.publish(subject, data, stream=self.stream,
                               headers={"Nats-Msg-Id": msg_id} if msg_id else None)

    async def publish_many(self, events: Events, *, msg_ids: list[str] | None = None) -> None:
        """All published concurrently; returns when the server acknowledged every one (raises otherwise).
        With ``msg_ids`` JetStream drops a message whose id it stored within its duplicate window
        (2 minutes by default): a relay that re-sends after a crash, or a second relay, adds nothing."""
        ids: list[str | None] = list(msg_ids) if msg_ids is not None else [None] * len(events)
        await asyncio.gather(*(self.publish(subject, payload, msg_id=i)
                               for (subject, payload), i in zip(events, ids, strict=True)))

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

    async def subscribe_batch(self, pattern: str, handler: BatchHandler, *, durable: str,
                              max_batch: int = 500) -> None:
        """A pull consumer: fetch up to ``max_batch`` messages, hand them over together, ack or nak them all."""
        from nats.errors import TimeoutError as NatsTimeout

        psub = await self._js.pull_subscribe(pattern, durable=durable, stream=self.stream)

        async def _loop() -> None:
            while True:
                try:
                    msgs = await psub.fetch(max_batch, timeout=1.0)
                except NatsTimeout:
                    continue
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("event fetch failed", extra={"subject": pattern})
                    await asyncio.sleep(1.0)
                    continue
                try:
                    await handler([(m.subject, json.loads(m.data)) for m in msgs])
                except Exception:
                    log.exception("event batch handler failed", extra={"subject": pattern})
                    await asyncio.gather(*(m.nak() for m in msgs), return_exceptions=True)
                else:
                    await asyncio.gather(*(m.ack() for m in msgs), return_exceptions=True)

        self._subs.append(psub)
        self._pullers.append(asyncio.create_task(_loop()))

    async def close(self) -> None:
        for task in self._pullers:
            task.cancel()
        if self._pullers:
            await asyncio.gather(*self._pullers, return_exceptions=True)
        self._pullers.clear()
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


def outbox_msg_id(row_id: int, subject: str, payload: dict[str, Any]) -> str:
    """The broker de-duplication id of an outbox row: its id plus a digest of its content, so a database
    reset that reuses row ids (tests, a reloaded demo) is never mistaken for a re-send."""
    body = canonical_json(payload)  # the form the outbox stored it in
    return f"outbox-{row_id}-" + hashlib.blake2b(f"{subject}|{body}".encode(), digest_size=12).hexdigest()


class Lease(Protocol):
    """Whether this process may relay now (True while it holds the lease); ``release`` lets go."""

    def __call__(self) -> bool: ...
    def release(self) -> None: ...


class OutboxRelay:
    """Moves committed outbox rows onto the bus; marks them published only after the bus accepted them.

    At-least-once: a crash between publish and mark re-sends, so handlers are idempotent.
    """

    def __init__(self, bus: EventBus, fetch: Callable[[int], list[tuple[int, str, dict[str, Any]]]],
                 mark: Callable[[list[int]], None], interval: float = 0.5,
                 lease: Lease | None = None) -> None:
        self.bus = bus
        self._fetch = fetch
        self._mark = mark
        self.interval = interval
        self._lease = lease  # with several processes: drain only while this returns True
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    def kick(self) -> None:
        """Called (from any thread) after a commit that wrote events."""
        loop = getattr(self, "_loop", None)
        if loop is not None:
            loop.call_soon_threadsafe(self._wake.set)

    async def drain_once(self, batch: int = 500) -> int:
        if self._lease is not None and not await asyncio.to_thread(self._lease):
            return 0  # another process relays
        rows = await asyncio.to_thread(self._fetch, batch)
        if not rows:
            return 0
        try:
            await self.bus.publish_many([(subject, payload) for _row_id, subject, payload in rows],
                                        msg_ids=[outbox_msg_id(*r) for r in rows])
        except Exception:
            log.exception("outbox publish failed; will retry", extra={"events": len(rows)})
            return 0
        await asyncio.to_thread(self._mark, [r[0] for r in rows])
        self.published += len(rows)
        return len(rows)

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
        if self._lease is not None:
            self._lease.release()  # another process takes over at its next try
