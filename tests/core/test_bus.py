"""Event bus: subject matching, in-process delivery, the outbox relay, and
NATS JetStream against the real local server (integration)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from jingwu.platform import services
from jingwu.platform.bus import InProcessBus, NatsBus, OutboxRelay, outbox_msg_id, subject_matches
from jingwu.platform.container import Container
from jingwu.platform.engine import RelayLease
from support import both_databases

NATS_URL = os.environ.get("JINGWU_TEST_NATS_URL", "nats://127.0.0.1:4222")


@pytest.fixture
async def private_bus() -> AsyncIterator[NatsBus]:
    """A NATS bus on a stream and subject space of its own (the app's `jingwu.>` may be taken by the
    running demo's stream), deleted afterwards."""
    stream = f"JWTEST{uuid.uuid4().hex[:8].upper()}"
    bus = NatsBus(NATS_URL, stream=stream)
    bus.prefix = f"jwt{uuid.uuid4().hex[:6]}"
    await bus.start()
    try:
        yield bus
    finally:
        await bus._js.delete_stream(stream)
        await bus.close()


@pytest.mark.parametrize(("pattern", "subject", "ok"), [
    ("jingwu.>", "jingwu.a.b", True),
    ("jingwu.>", "jingwu", False),
    ("jingwu.*.b", "jingwu.a.b", True),
    ("jingwu.*.b", "jingwu.a.c", False),
    ("jingwu.a", "jingwu.a.b", False),
    ("jingwu.a.b", "jingwu.a.b", True),
])
def test_subject_matching(pattern: str, subject: str, ok: bool) -> None:
    assert subject_matches(pattern, subject) is ok


async def test_in_process_bus_delivers_in_order_and_survives_a_bad_handler() -> None:
    bus = InProcessBus()
    got: list[tuple[str, dict[str, Any]]] = []

    async def good(subject: str, payload: dict[str, Any]) -> None:
        got.append((subject, payload))

    async def bad(subject: str, payload: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    await bus.subscribe("jingwu.>", bad)
    await bus.subscribe("jingwu.x.*", good)
    await bus.publish("jingwu.x.one", {"n": 1})
    await bus.publish("jingwu.y.two", {"n": 2})
    await bus.publish("jingwu.x.three", {"n": 3})
    assert got == [("jingwu.x.one", {"n": 1}), ("jingwu.x.three", {"n": 3})]


@both_databases
async def test_relay_moves_committed_events_once(container: Container) -> None:
    bus = InProcessBus()
    seen: list[dict[str, Any]] = []

    async def h(subject: str, payload: dict[str, Any]) -> None:
        seen.append(payload)

    await bus.subscribe("jingwu.platform.>", h)
    relay = OutboxRelay(bus, container._fetch_outbox, container._mark_outbox)
    services.create_agency(services.CreateAgency("C1", "城市", "city_bureau"), uow=container.uow(), actor=None)
    services.create_user(services.CreateUser("u_one", "U", "longpassword", "C1", ("analyst",)),
                         uow=container.uow(), actor=None)
    assert await relay.drain_once() == 1
    assert await relay.drain_once() == 0
    assert len(seen) == 1 and "user_id" in seen[0]


class FlakyBus(InProcessBus):
    def __init__(self) -> None:
        super().__init__()
        self.fail = True

    async def publish_many(self, events: list[tuple[str, dict[str, Any]]], *,
                           msg_ids: list[str] | None = None) -> None:
        if self.fail:
            raise ConnectionError("bus down")
        await super().publish_many(events, msg_ids=msg_ids)


async def test_relay_keeps_events_while_the_bus_is_down(container: Container) -> None:
    bus = FlakyBus()
    relay = OutboxRelay(bus, container._fetch_outbox, container._mark_outbox)
    services.create_agency(services.CreateAgency("C1", "城市", "city_bureau"), uow=container.uow(), actor=None)
    services.create_user(services.CreateUser("u_two", "U", "longpassword", "C1", ("analyst",)),
                         uow=container.uow(), actor=None)
    assert await relay.drain_once() == 0
    with container.uow() as uow:
        assert len(uow.outbox.pending()) == 1
    bus.fail = False
    assert await relay.drain_once() == 1


async def test_in_process_batches_keep_order_and_single_handlers_still_see_each() -> None:
    bus = InProcessBus()
    singles: list[int] = []
    batches: list[list[int]] = []

    async def one(subject: str, payload: dict[str, Any]) -> None:
        singles.append(payload["n"])

    async def many(events: list[tuple[str, dict[str, Any]]]) -> None:
        batches.append([p["n"] for _s, p in events])

    await bus.subscribe("jingwu.a.*", one)
    await bus.subscribe_batch("jingwu.a.>", many, durable="d", max_batch=4)
    await bus.publish_many([(f"jingwu.{'a' if n % 3 else 'b'}.x", {"n": n}) for n in range(12)])
    expected = [n for n in range(12) if n % 3]
    assert singles == expected
    assert [len(b) for b in batches] == [4, 4]  # 8 matching events, at most 4 per call
    assert [n for b in batches for n in b] == expected


@pytest.mark.integration
async def test_nats_batch_consumer_acks_a_batch_and_redelivers_a_failed_one(private_bus: NatsBus) -> None:
    bus, stream, prefix = private_bus, private_bus.stream, private_bus.prefix
    seen: list[int] = []
    calls = 0

    async def many(events: list[tuple[str, dict[str, Any]]]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("first batch fails: it must come back")
        seen.extend(p["n"] for _s, p in events)

    await bus.subscribe_batch(f"{prefix}.incidents.>", many, durable="batch-test", max_batch=100)
    await bus.publish_many([(f"{prefix}.incidents.recorded", {"n": n}) for n in range(50)])
    for _ in range(100):
        if len(set(seen)) == 50:
            break
        await asyncio.sleep(0.1)
    assert sorted(set(seen)) == list(range(50))
    assert calls >= 2
    info = await bus._js.consumer_info(stream, "batch-test")
    for _ in range(50):
        if info.num_ack_pending == 0:
            break
        await asyncio.sleep(0.1)
        info = await bus._js.consumer_info(stream, "batch-test")
    assert info.num_ack_pending == 0 and info.num_pending == 0


@pytest.mark.integration
async def test_nats_jetstream_roundtrip(private_bus: NatsBus) -> None:
    """Publish through JetStream on the real local server and receive it on a durable consumer."""
    bus, stream, prefix = private_bus, private_bus.stream, private_bus.prefix
    got: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    async def h(subject: str, payload: dict[str, Any]) -> None:
        await got.put((subject, payload))

    await bus.subscribe(f"{prefix}.incidents.*", h, durable="test-consumer")
    await bus.publish(f"{prefix}.incidents.created", {"id": "i-1", "zh": "警情"})
    await bus.publish(f"{prefix}.other.thing", {"id": "x"})
    subject, payload = await asyncio.wait_for(got.get(), timeout=5)
    assert subject == f"{prefix}.incidents.created" and payload == {"id": "i-1", "zh": "警情"}
    await asyncio.sleep(0.2)
    assert got.empty()
    info = await bus._js.stream_info(stream)
    assert info.state.messages == 2  # both persisted by JetStream


@pytest.mark.integration
async def test_relay_over_nats(container: Container, private_bus: NatsBus) -> None:
    bus = private_bus
    got: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def h(subject: str, payload: dict[str, Any]) -> None:
        await got.put(payload)

    await bus.subscribe(f"{bus.prefix}.>", h)
    with container.uow() as uow:
        uow.emit(f"{bus.prefix}.platform.test", {"k": "v"})
        uow.commit()
    relay = OutboxRelay(bus, container._fetch_outbox, container._mark_outbox)
    assert await relay.drain_once() == 1
    assert await asyncio.wait_for(got.get(), timeout=5) == {"k": "v"}


@pytest.mark.integration
async def test_two_relays_sending_the_same_rows_store_each_event_once(container: Container,
                                                                     private_bus: NatsBus) -> None:
    """Two relays that fetched the same rows (before either marked them): JetStream drops the second
    copy by its message id."""
    bus = private_bus
    with container.uow() as uow:
        for n in range(5):
            uow.emit(f"{bus.prefix}.platform.test", {"n": n})
        uow.commit()
    rows = container._fetch_outbox(100)
    assert len(rows) == 5
    events = [(subject, payload) for _i, subject, payload in rows]
    ids = [outbox_msg_id(*r) for r in rows]
    await bus.publish_many(events, msg_ids=ids)
    await bus.publish_many(events, msg_ids=ids)
    assert (await bus._js.stream_info(bus.stream)).state.messages == 5
    # a reset database reuses row ids with other content: that is not a duplicate
    other = outbox_msg_id(rows[0][0], rows[0][1], {"n": 99})
    assert other != ids[0]
    await bus.publish_many([(rows[0][1], {"n": 99})], msg_ids=[other])
    assert (await bus._js.stream_info(bus.stream)).state.messages == 6


@both_databases
def test_one_process_at_a_time_holds_the_relay_lease(container: Container) -> None:
    """Two leases on one database stand for two worker processes (a PostgreSQL session each, or an
    open file each for SQLite's flock): one holds it; when it lets go, the other takes over."""
    a, b = RelayLease(container.engine, retry_s=0), RelayLease(container.engine, retry_s=0)
    try:
        assert a() is True
        assert b() is False
        assert a() is True  # still held: asking again does not lose it
        a.release()
        assert b() is True
        assert a() is False
    finally:
        a.release()
        b.release()


@both_databases
def test_a_refused_process_asks_again_only_after_its_pause(container: Container) -> None:
    a, b = RelayLease(container.engine), RelayLease(container.engine, retry_s=0.3)
    try:
        assert a() is True
        assert b() is False
        a.release()
        assert b() is False  # within its pause it does not ask the database
        time.sleep(0.35)
        assert b() is True
    finally:
        a.release()
        b.release()


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_holder_whose_session_ends_loses_the_lease_and_another_takes_over(container: Container) -> None:
    c = container
    a = RelayLease(c.engine, recheck_s=0, retry_s=0)
    b = RelayLease(c.engine, retry_s=0)
    try:
        assert a() is True
        pid = a._conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with c.engine.connect() as admin:
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
            admin.commit()
            for _ in range(100):  # termination is asynchronous: wait until the session is gone
                gone = admin.exec_driver_sql(f"SELECT count(*) FROM pg_stat_activity WHERE pid = {int(pid)}")
                if gone.scalar_one() == 0:
                    break
                admin.rollback()
                time.sleep(0.05)
        assert b() is True  # the server dropped the lock with the session
        assert a() is False  # the holder notices at its next check
    finally:
        a.release()
        b.release()


@pytest.mark.integration
async def test_only_the_lease_holder_relays_and_another_takes_over(container: Container,
                                                                  private_bus: NatsBus) -> None:
    bus = private_bus
    lease_a, lease_b = RelayLease(container.engine, retry_s=0), RelayLease(container.engine, retry_s=0)
    relay_a = OutboxRelay(bus, container._fetch_outbox, container._mark_outbox, lease=lease_a)
    relay_b = OutboxRelay(bus, container._fetch_outbox, container._mark_outbox, lease=lease_b)

    def emit(n: int) -> None:
        with container.uow() as uow:
            for i in range(n):
                uow.emit(f"{bus.prefix}.platform.test", {"i": i, "u": uuid.uuid4().hex})
            uow.commit()

    try:
        emit(3)
        assert await relay_a.drain_once() == 3  # first to ask: the holder
        emit(2)
        assert await relay_b.drain_once() == 0  # a follower leaves the rows to the holder
        assert await relay_a.drain_once() == 2
        lease_a.release()  # the holder's process ends
        emit(1)
        assert await relay_b.drain_once() == 1
        assert await relay_a.drain_once() == 0
        assert (await bus._js.stream_info(bus.stream)).state.messages == 6
    finally:
        lease_a.release()
        lease_b.release()
