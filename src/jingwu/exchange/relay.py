"""Federation transport: the relay moves committed outbox envelopes to their peers (NATS JetStream subject
``<prefix>.<peer>.<me>`` with the envelope id as ``Nats-Msg-Id``, or an HTTPS POST to the peer's webhook)
and marks each sent only after the broker or the peer acknowledged it; the consumer pulls this deployment's
subject from a durable consumer and acknowledges a message only after it was applied (or refused) and
committed. At least once end to end; the inbox's message ids make applying idempotent."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from jingwu.exchange.services.common import Federation
from jingwu.exchange.services.inbound import receive, refuse_raw
from jingwu.exchange.settings import ExchangeSettings
from jingwu.exchange.store import repo
from jingwu.platform.uow import SqlUnitOfWork

log = logging.getLogger("jingwu.exchange.relay")

MAX_DELIVERIES = 5  # then a message that cannot be applied is recorded as refused (apply_failed) and acknowledged


def subject_for(prefix: str, to: str, sender: str) -> str:
    return f"{prefix}.{to}.{sender}"


class FederationRelay:
    """The outbox relay and the inbound consumer of one deployment (one asyncio task each)."""

    def __init__(self, xs: ExchangeSettings, fed: Federation, uow_factory: Callable[[], SqlUnitOfWork],
                 nats_url: str | None, read_factory: Callable[[], SqlUnitOfWork] | None = None) -> None:
        self.xs = xs
        self.fed = fed
        self.uow_factory = uow_factory
        self.read_factory = read_factory or uow_factory  # polls must not take SQLite's write lock
        self.nats_url = nats_url
        self._nc: Any = None
        self._js: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._http: Any = None
        self.sent = 0
        self.received = 0

    # ---------------------------------------------------------------- setup
    async def connect(self) -> None:
        import httpx

        self._http = httpx.AsyncClient(timeout=self.xs.webhook_timeout_s)
        if not self.nats_url:
            return
        import nats
        from nats.js.errors import NotFoundError

        self._nc = await nats.connect(self.nats_url, connect_timeout=5, max_reconnect_attempts=-1)
        self._js = self._nc.jetstream()
        try:
            await self._js.stream_info(self.xs.stream)
        except NotFoundError:
            await self._js.add_stream(name=self.xs.stream, subjects=[f"{self.xs.subject_prefix}.>"])

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._relay_loop()))
        if self._js is not None:
            self._tasks.append(asyncio.create_task(self._consume_loop()))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._http is not None:
            await self._http.aclose()
        if self._nc is not None:
            await self._nc.drain()
            self._nc = None

    # ---------------------------------------------------------------- outbound
    def _pending(self, limit: int) -> list[dict[str, Any]]:
        with self.read_factory() as uow:
            return repo(uow).pending(limit)

    def _mark(self, seq: int, error: str | None, final: bool = False) -> None:
        uow = self.uow_factory()
        with uow:
            if error is None:
                repo(uow).mark_sent([seq], datetime.now(UTC))
            else:
                repo(uow).mark_attempt(seq, error, datetime.now(UTC), final=final)
            uow.commit()

    async def drain_once(self, batch: int = 100) -> int:
        rows = await asyncio.to_thread(self._pending, batch)
        done = 0
        blocked: set[str] = set()  # a peer whose message failed keeps its later ones for the next round (order)
        for row in rows:
            if row["peer_id"] in blocked:
                continue
            try:
                final = await self._deliver(row)
            except Exception as exc:
                log.warning("exchange: delivery failed; will retry", extra={"peer": row["peer_id"],
                                                                           "msg_id": row["msg_id"]})
                blocked.add(row["peer_id"])
                await asyncio.to_thread(self._mark, row["seq"], f"{type(exc).__name__}: {exc}")
                continue
            if final is not None:  # the peer refused it for good: recorded, not retried
                await asyncio.to_thread(self._mark, row["seq"], final, True)
                continue
            await asyncio.to_thread(self._mark, row["seq"], None)
            done += 1
            self.sent += 1
        return done

    async def _deliver(self, row: dict[str, Any]) -> str | None:
        """None when delivered; a reason when the peer refused it (4xx); raises to retry later."""
        me = self.fed.require()
        data = row["envelope"].encode("utf-8")
        if row["transport"] == "nats":
            if self._js is None:
                raise RuntimeError("no NATS connection for a nats peer")
            await self._js.publish(subject_for(self.xs.subject_prefix, row["peer_id"], me), data,
                                   stream=self.xs.stream, headers={"Nats-Msg-Id": row["msg_id"]})
            return None
        r = await self._http.post(row["url"], content=data, headers={"Content-Type": "application/json"})
        if r.status_code < 300:
            return None
        if 400 <= r.status_code < 500 and r.status_code not in (408, 429):
            return f"HTTP {r.status_code}: {r.text[:500]}"
        raise RuntimeError(f"HTTP {r.status_code}")

    async def _relay_loop(self) -> None:
        while True:
            try:
                while await self.drain_once() > 0:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("exchange relay error")
            await asyncio.sleep(self.xs.relay_interval_s)

    # ---------------------------------------------------------------- inbound
    async def _consume_loop(self) -> None:
        from nats.errors import TimeoutError as NatsTimeout

        me = self.fed.require()
        psub = await self._js.pull_subscribe(f"{self.xs.subject_prefix}.{me}.*", durable=f"exchange-in-{me}",
                                             stream=self.xs.stream)
        while True:
            try:
                msgs = await psub.fetch(50, timeout=1.0)
            except NatsTimeout:
                continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("exchange fetch failed")
                await asyncio.sleep(1.0)
                continue
            for m in msgs:
                try:
                    out = await asyncio.to_thread(receive, m.data, transport="nats", uow_factory=self.uow_factory,
                                                  fed=self.fed)
                except Exception as exc:
                    if m.metadata.num_delivered < MAX_DELIVERIES:
                        log.exception("exchange: applying failed; redelivered later")
                        await m.nak(delay=2)
                        continue
                    # a message that fails every time (not a refusal: an error applying it) stops blocking
                    await asyncio.to_thread(refuse_raw, m.data, code="apply_failed",
                                            message=f"{type(exc).__name__}: {exc}"[:500], transport="nats",
                                            uow_factory=self.uow_factory)
                await m.ack()  # after the commit: applied, duplicate or refused (recorded)
                self.received += 1
                log.info("exchange: message %s", out.status, extra={"msg_id": out.msg_id, "code": out.code})


def envelope_text(env: dict[str, Any]) -> str:
    return json.dumps(env, ensure_ascii=False)
