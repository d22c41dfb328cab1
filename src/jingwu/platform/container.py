"""The application's wiring: settings, engine, unit-of-work factory, clock, bus,
outbox relay, and typed slots that features fill lazily (the road graph, a
feature's placement helper, its intake queue). Built once per process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from jingwu.platform.bus import EventBus, OutboxRelay, make_bus
from jingwu.platform.clock import Clock, SystemClock
from jingwu.platform.deployment_store import recorded_settings
from jingwu.platform.engine import RelayLease, make_engine, make_session_factory
from jingwu.platform.settings import Settings
from jingwu.platform.uow import SqlUnitOfWork

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Slot(Generic[T]):
    """A typed, lazily built, per-container object. A feature declares its slots as module constants
    (``GEO: Slot[Geo] = Slot("dispatch.geo", build_geo)``) and reads them with ``container.get(GEO)``:
    the type is known to the checker and no string key is shared between modules. ``name`` is for logs."""

    name: str
    build: Callable[[Container], T]


@dataclass
class Container:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    bus: EventBus
    relay: OutboxRelay | None = None
    lease: RelayLease | None = None
    _slots: dict[Slot[Any], Any] = field(default_factory=dict)
    _slot_locks: dict[Slot[Any], threading.Lock] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # slot -> the slots whose build read it (found while building): forgetting a slot forgets them too
    _dependents: dict[Slot[Any], set[Slot[Any]]] = field(default_factory=dict)
    _building: threading.local = field(default_factory=threading.local)
    _forgotten: int = 0  # bumped by every forget

    read_session_factory: sessionmaker[Session] | None = None

    def reader(self) -> sessionmaker[Session]:
        """Sessions for read-only use cases (deferred transactions on SQLite)."""
        return self.read_session_factory or self.session_factory

    def read_uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.reader(), self.clock)

    def dispose(self) -> None:
        if self.lease is not None:
            self.lease.release()
        self.engine.dispose()
        if self.read_session_factory is not None:
            bind = self.read_session_factory.kw.get("bind")
            if bind is not None and bind is not self.engine:
                bind.dispose()

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.session_factory, self.clock,
                             after_commit=self.relay.kick if self.relay else None)

    def get(self, slot: Slot[T]) -> T:
        """The slot's object, built on first use (once, even when several threads ask together).

        A slot read while another slot is being built is recorded as that slot's dependency:
        ``forget`` of the first also forgets the second (the placement helper built on the road
        graph is dropped with the graph)."""
        stack: list[Slot[Any]] = getattr(self._building, "stack", None) or []
        if stack:
            with self._lock:
                self._dependents.setdefault(slot, set()).add(stack[-1])
        try:
            return cast(T, self._slots[slot])
        except KeyError:
            pass
        with self._lock:
            lock = self._slot_locks.setdefault(slot, threading.Lock())
        with lock:
            if slot not in self._slots:
                self._building.stack = [*stack, slot]
                generation = self._forgotten
                try:
                    built = slot.build(self)
                finally:
                    self._building.stack = stack
                with self._lock:
                    if self._forgotten != generation:
                        # something was forgotten while this was being built, perhaps what it was built
                        # from: use it this once, build afresh next time
                        return built
                    self._slots[slot] = built
            return cast(T, self._slots[slot])

    def peek(self, slot: Slot[T]) -> T | None:
        """The slot's object if it has been built, without building it."""
        return cast("T | None", self._slots.get(slot))

    def forget(self, slot: Slot[T]) -> T | None:
        """Drop a slot's object (rebuilt on next use) and the objects of the slots built from it;
        return the slot's object, or None if it was never built."""
        with self._lock:
            self._forgotten += 1
            got = cast("T | None", self._slots.pop(slot, None))
            todo = list(self._dependents.pop(slot, ()))
            while todo:
                dep = todo.pop()
                self._slots.pop(dep, None)
                todo.extend(self._dependents.pop(dep, ()))
        return got

    # outbox plumbing for the relay (runs in a worker thread)
    def _fetch_outbox(self, limit: int) -> list[tuple[int, str, dict[str, Any]]]:
        with self.read_uow() as uow:  # a poll must not take SQLite's write lock
            return uow.outbox.pending(limit)

    def _mark_outbox(self, ids: list[int]) -> None:
        with self.uow() as uow:
            uow.outbox.mark_published(ids, datetime.now(UTC))
            uow.commit()


def build_container(settings: Settings, *, clock: Clock | None = None) -> Container:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    settings = recorded_settings(engine, settings)  # the time zone recorded by `jingwu setup`
    reader = make_engine(settings.db_url, read_only=True) if engine.dialect.name == "sqlite" else engine
    c = Container(settings=settings, engine=engine, session_factory=make_session_factory(engine),
                  read_session_factory=make_session_factory(reader),
                  clock=clock or SystemClock(), bus=make_bus(settings.nats_url, settings.nats_stream))
    if settings.nats_url:
        # several processes share the broker: one relays (the lease holder), polling often enough that
        # events committed by the other processes reach the bus within about 0.1 s
        c.lease = RelayLease(engine)
        c.relay = OutboxRelay(c.bus, c._fetch_outbox, c._mark_outbox, interval=0.1, lease=c.lease)
    else:
        # the in-process bus serves only this process: it relays everything to its own subscribers
        c.relay = OutboxRelay(c.bus, c._fetch_outbox, c._mark_outbox)
    return c
