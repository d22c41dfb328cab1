"""Platform storage: the SQLAlchemy tables of agencies, towns, units, users,
the audit log and the outbox; their repositories; engine set-up and the unit of
work. The only platform module that imports SQLAlchemy.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from jingwu.platform.clock import Clock
from jingwu.platform.domain import (
    GENESIS_HASH,
    AuditRecord,
    Principal,
    Role,
    audit_hash,
    canonical_json,
)
from jingwu.platform.errors import NotFound

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores timezone-aware UTC; always returns timezone-aware UTC (SQLite included)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store timezone-aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


agencies = Table(
    "agencies",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("parent_id", String(36), ForeignKey("agencies.id"), nullable=True, index=True),
    Column("kind", String(32), nullable=False),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("name_en", String(200), nullable=True),
    Column("path", String(1000), nullable=False, index=True),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("jurisdiction", Text, nullable=True),  # GeoJSON geometry
    Column("source", String(200), nullable=True),  # e.g. "osm:node/1956614663"
    Column("created_at", UTCDateTime, nullable=False),
)

towns = Table(
    "towns",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("name_en", String(200), nullable=True),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False, index=True),
    Column("population", Integer, nullable=False),
    Column("population_note", Text, nullable=True),
    Column("area_km2", Float, nullable=True),
    Column("geometry", Text, nullable=True),  # GeoJSON geometry
    Column("created_at", UTCDateTime, nullable=False),
)

units = Table(
    "units",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("call_sign", String(64), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False, index=True),
    Column("status", String(32), nullable=False, server_default="available"),
    Column("home_lon", Float, nullable=False),
    Column("home_lat", Float, nullable=False),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("position_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("incident_id", String(36), nullable=True, index=True),  # current assignment (dispatch)
    Column("status_at", UTCDateTime, nullable=True),
    Column("last_contact_at", UTCDateTime, nullable=True),  # last position or status from the unit
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("agency_id", String(36), ForeignKey("agencies.id"), nullable=False, index=True),
    Column("roles", String(400), nullable=False),  # comma-separated Role values
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("agency_id", String(36), nullable=True),
    Column("action", String(100), nullable=False, index=True),
    Column("object_type", String(100), nullable=False),
    Column("object_id", String(200), nullable=True),
    Column("reason", Text, nullable=True),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# One row: the head of the audit chain. Writers lock it, so appends are serialised.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic", String(200), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime, nullable=True, index=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
)

TABLES = (agencies, towns, units, users, audit_log, audit_head, outbox)


# ---------------------------------------------------------------- engine

def make_engine(url: str, *, echo: bool = False, read_only: bool = False) -> Engine:
    """An engine for ``url``. On SQLite every write transaction takes the write lock at BEGIN
    (``BEGIN IMMEDIATE``); a ``read_only`` engine begins deferred, so readers never wait for writers."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}, pool_pre_ping=False
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # a commit survives power loss, not only a crash
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the write lock at BEGIN: no read-then-upgrade deadlocks between writers.
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)


def ping(engine: Engine) -> bool:
    """True when the database answers."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True
    except Exception:
        return False


class RelayLease:
    """Which process relays the outbox when several worker processes share a database and a broker.

    Every process runs a relay; only the holder of this lease drains the outbox, so the relay work does
    not grow with the number of workers. PostgreSQL: a session advisory lock on a connection kept for
    the purpose; SQLite: an exclusive ``flock`` on a file beside the database. Both are released by the
    server or the operating system when the holding process dies; the others try again at most once a
    ``RETRY_S`` and one of them takes over. The holder checks its session every ``RECHECK_S``. Call the
    lease to ask: True while this process holds it.
    """

    KEY = 0x4A57_0B07  # the advisory-lock key of the outbox relay ("JW", outbox)
    RECHECK_S = 1.0
    RETRY_S = 1.0

    def __init__(self, engine: Engine, *, recheck_s: float = RECHECK_S, retry_s: float = RETRY_S) -> None:
        self.engine = engine
        self.recheck_s = recheck_s
        self.retry_s = retry_s
        self._conn: Any = None
        self._fd: int | None = None
        self._checked = 0.0
        self._retry_at = 0.0
        self._held = False
        self._lock = threading.Lock()

    def __call__(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if not self._held and now < self._retry_at:
                return False  # refused a moment ago: do not ask the database on every commit
            try:
                held = self._flock() if self.engine.dialect.name == "sqlite" else self._advisory(now)
            except Exception as exc:
                if self._held:
                    log.warning("outbox relay lease lost (%s); another process may take over", exc)
                self._drop()
                held = False
            if held != self._held:
                log.info("outbox relay lease %s", "taken: this process relays" if held else "released")
            self._held = held
            if not held:
                self._retry_at = now + self.retry_s
            return held

    def _advisory(self, now: float) -> bool:
        if self._conn is not None:
            if now - self._checked >= self.recheck_s:  # the server still knows this session (and its lock)
                self._conn.exec_driver_sql("SELECT 1")
                self._checked = now
            return True
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({self.KEY})").scalar_one())
        except Exception:
            conn.invalidate()
            conn.close()
            raise
        if got:
            self._conn, self._checked = conn, now
            return True
        conn.close()
        return False

    def _flock(self) -> bool:
        if self._fd is not None:
            return True
        db = self.engine.url.database
        if not db or db == ":memory:":
            return True  # a private database: this process is the only one
        fd = os.open(f"{db}.relay-lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                # a session lock outlives a return to the pool: end the session instead
                self._conn.invalidate()
                self._conn.close()
            except Exception:
                log.debug("closing the lease connection failed", exc_info=True)
            self._conn = None
        if self._fd is not None:
            os.close(self._fd)  # closing the file releases the flock
            self._fd = None

    def release(self) -> None:
        with self._lock:
            self._drop()
            if self._held:
                log.info("outbox relay lease released")
            self._held = False
            self._retry_at = 0.0


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


# ---------------------------------------------------------------- rows

@dataclass(frozen=True)
class AgencyRow:
    id: str
    parent_id: str | None
    kind: str
    code: str
    name: str
    name_en: str | None
    path: str
    lon: float | None
    lat: float | None
    jurisdiction: dict[str, Any] | None
    source: str | None


@dataclass(frozen=True)
class TownRow:
    id: str
    code: str
    name: str
    name_en: str | None
    agency_id: str
    agency_path: str
    population: int
    population_note: str | None
    area_km2: float | None
    geometry: dict[str, Any] | None


@dataclass(frozen=True)
class UnitRow:
    id: str
    call_sign: str
    kind: str
    agency_id: str
    agency_path: str
    status: str
    home_lon: float
    home_lat: float
    lon: float | None
    lat: float | None
    position_at: datetime | None
    incident_id: str | None = None
    status_at: datetime | None = None
    last_contact_at: datetime | None = None


@dataclass(frozen=True)
class UserRow:
    id: str
    username: str
    display_name: str
    password_hash: str
    agency_id: str
    agency_path: str
    roles: frozenset[Role]
    active: bool

    def principal(self) -> Principal:
        return Principal(self.id, self.username, self.agency_id, self.agency_path, self.roles)


def _geo(text: str | None) -> dict[str, Any] | None:
    return json.loads(text) if text else None


def _agency(r: Any) -> AgencyRow:
    return AgencyRow(r.id, r.parent_id, r.kind, r.code, r.name, r.name_en, r.path, r.lon, r.lat,
                     _geo(r.jurisdiction), r.source)


# ---------------------------------------------------------------- repositories

class AgencyRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, *, id: str, parent_id: str | None, kind: str, code: str, name: str, name_en: str | None,
            path: str, lon: float | None, lat: float | None, jurisdiction: dict[str, Any] | None,
            source: str | None, at: datetime) -> None:
        self.s.execute(insert(agencies).values(
            id=id, parent_id=parent_id, kind=kind, code=code, name=name, name_en=name_en, path=path,
            lon=lon, lat=lat, jurisdiction=json.dumps(jurisdiction) if jurisdiction else None,
            source=source, created_at=at))

    def get(self, agency_id: str) -> AgencyRow:
        r = self.s.execute(select(agencies).where(agencies.c.id == agency_id)).one_or_none()
        if r is None:
            raise NotFound(f"Agency {agency_id} does not exist.")
        return _agency(r)

    def by_code(self, code: str) -> AgencyRow | None:
        r = self.s.execute(select(agencies).where(agencies.c.code == code)).one_or_none()
        return _agency(r) if r else None

    def in_subtree(self, path: str, kind: str | None = None) -> list[AgencyRow]:
        q = select(agencies).where(agencies.c.path.startswith(path, autoescape=True))
        if kind:
            q = q.where(agencies.c.kind == kind)
        return [_agency(r) for r in self.s.execute(q.order_by(agencies.c.path))]

    def set_jurisdiction(self, agency_id: str, geometry: dict[str, Any]) -> None:
        self.s.execute(update(agencies).where(agencies.c.id == agency_id)
                       .values(jurisdiction=json.dumps(geometry)))

    def count(self) -> int:
        return int(self.s.execute(select(func.count()).select_from(agencies)).scalar_one())


class TownRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, *, code: str, name: str, name_en: str | None, agency_id: str, population: int,
            population_note: str | None, area_km2: float | None, geometry: dict[str, Any] | None,
            at: datetime) -> str:
        tid = new_id()
        self.s.execute(insert(towns).values(
            id=tid, code=code, name=name, name_en=name_en, agency_id=agency_id, population=population,
            population_note=population_note, area_km2=area_km2,
            geometry=json.dumps(geometry) if geometry else None, created_at=at))
        return tid

    def _q(self) -> Any:
        return select(towns, agencies.c.path.label("agency_path")).join(agencies, agencies.c.id == towns.c.agency_id)

    def _row(self, r: Any) -> TownRow:
        return TownRow(r.id, r.code, r.name, r.name_en, r.agency_id, r.agency_path, r.population,
                       r.population_note, r.area_km2, _geo(r.geometry))

    def get(self, town_id: str) -> TownRow:
        r = self.s.execute(self._q().where(towns.c.id == town_id)).one_or_none()
        if r is None:
            raise NotFound(f"Town {town_id} does not exist.")
        return self._row(r)

    def all(self) -> list[TownRow]:
        return [self._row(r) for r in self.s.execute(self._q().order_by(towns.c.code))]


# Built once: the hot read paths (recommendations) skip building and cache-keying a new expression each call.
_UNITS_IN_SUBTREE = (select(units, agencies.c.path.label("agency_path"))
                     .join(agencies, agencies.c.id == units.c.agency_id)
                     .where(agencies.c.path.like(bindparam("pattern"), escape="/")).order_by(units.c.call_sign))


class UnitRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, *, call_sign: str, kind: str, agency_id: str, lon: float, lat: float, at: datetime) -> str:
        uid = new_id()
        self.s.execute(insert(units).values(
            id=uid, call_sign=call_sign, kind=kind, agency_id=agency_id, status="available",
            home_lon=lon, home_lat=lat, lon=lon, lat=lat, position_at=at, created_at=at))
        return uid

    def _q(self) -> Any:
        return select(units, agencies.c.path.label("agency_path")).join(agencies, agencies.c.id == units.c.agency_id)

    def _row(self, r: Any) -> UnitRow:
        return UnitRow(r.id, r.call_sign, r.kind, r.agency_id, r.agency_path, r.status, r.home_lon,
                       r.home_lat, r.lon, r.lat, r.position_at, r.incident_id, r.status_at, r.last_contact_at)

    def get(self, unit_id: str) -> UnitRow:
        r = self.s.execute(self._q().where(units.c.id == unit_id)).one_or_none()
        if r is None:
            raise NotFound(f"Unit {unit_id} does not exist.")
        return self._row(r)

    def in_subtree(self, path: str) -> list[UnitRow]:
        pattern = path.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
        return [self._row(r) for r in self.s.execute(_UNITS_IN_SUBTREE, {"pattern": pattern})]

    def count(self) -> int:
        return int(self.s.execute(select(func.count()).select_from(units)).scalar_one())

    def claim(self, unit_id: str, incident_id: str, *, at: datetime) -> bool:
        """Atomically take an available unit for an incident (one conditional UPDATE: race-safe)."""
        r = self.s.execute(update(units).where(units.c.id == unit_id, units.c.status == "available")
                           .values(status="dispatched", incident_id=incident_id, status_at=at))
        return bool(r.rowcount == 1)  # type: ignore[attr-defined]

    def set_status(self, unit_id: str, *, expect: str, status: str, at: datetime,
                   incident_id: str | bool | None = False) -> bool:
        """Compare-and-set the status; ``incident_id=False`` leaves the assignment untouched."""
        values: dict[str, Any] = {"status": status, "status_at": at, "last_contact_at": at}
        if incident_id is not False:
            values["incident_id"] = incident_id
        r = self.s.execute(update(units).where(units.c.id == unit_id, units.c.status == expect).values(**values))
        return bool(r.rowcount == 1)  # type: ignore[attr-defined]

    def set_positions(self, rows: list[tuple[str, float, float, datetime]]) -> int:
        """Latest position per unit, one executemany; a position older than the stored one is ignored."""
        if not rows:
            return 0
        stmt = (update(units)
                .where(units.c.id == bindparam("b_id"),
                       or_(units.c.position_at.is_(None), units.c.position_at < bindparam("b_at")))
                .values(lon=bindparam("b_lon"), lat=bindparam("b_lat"), position_at=bindparam("b_at"),
                        last_contact_at=bindparam("b_at")))
        self.s.execute(stmt, [{"b_id": u, "b_lon": lon, "b_lat": lat, "b_at": at} for u, lon, lat, at in rows])
        return len(rows)

class UserRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, *, username: str, display_name: str, password_hash: str, agency_id: str,
            roles: Iterable[Role], at: datetime) -> str:
        uid = new_id()
        self.s.execute(insert(users).values(
            id=uid, username=username, display_name=display_name, password_hash=password_hash,
            agency_id=agency_id, roles=",".join(sorted(r.value for r in roles)), active=True, created_at=at))
        return uid

    def _q(self) -> Any:
        return select(users, agencies.c.path.label("agency_path")).join(agencies, agencies.c.id == users.c.agency_id)

    def _row(self, r: Any) -> UserRow:
        roles = frozenset(Role(x) for x in r.roles.split(",") if x)
        return UserRow(r.id, r.username, r.display_name, r.password_hash, r.agency_id, r.agency_path,
                       roles, bool(r.active))

    def by_username(self, username: str) -> UserRow | None:
        r = self.s.execute(self._q().where(users.c.username == username)).one_or_none()
        return self._row(r) if r else None

    def get(self, user_id: str) -> UserRow | None:
        r = self.s.execute(self._q().where(users.c.id == user_id)).one_or_none()
        return self._row(r) if r else None

    def in_subtree(self, path: str) -> list[UserRow]:
        q = self._q().where(agencies.c.path.startswith(path, autoescape=True)).order_by(users.c.username)
        return [self._row(r) for r in self.s.execute(q)]


class AuditWriter:
    """Appends hash-chained entries. Locks the chain head for the transaction."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.s = session
        self.clock = clock

    def write(self, *, actor: str, action: str, object_type: str, object_id: str | None = None,
              agency_id: str | None = None, reason: str | None = None,
              detail: dict[str, Any] | None = None) -> int:
        return self.write_many([AuditDraft(actor, action, object_type, object_id, agency_id, reason, detail)])[-1]

    def write_many(self, drafts: list[AuditDraft]) -> list[int]:
        """Chain several entries under one lock of the head (one round trip each for lock, insert, update)."""
        if not drafts:
            return []
        head = self.s.execute(
            select(audit_head.c.last_seq, audit_head.c.last_hash).where(audit_head.c.id == 1).with_for_update()
        ).one_or_none()
        if head is None:
            self.s.execute(insert(audit_head).values(id=1, last_seq=0, last_hash=GENESIS_HASH))
            last_seq, last_hash = 0, GENESIS_HASH
        else:
            last_seq, last_hash = head.last_seq, head.last_hash
        at = self.clock.now().astimezone(UTC)
        rows: list[dict[str, Any]] = []
        seqs: list[int] = []
        for d in drafts:
            seq = last_seq + 1
            seqs.append(seq)
            detail_json = canonical_json(d.detail or {})
            h = audit_hash(seq=seq, at=at, actor=d.actor, agency_id=d.agency_id, action=d.action,
                           object_type=d.object_type, object_id=d.object_id, reason=d.reason,
                           detail=detail_json, prev_hash=last_hash)
            rows.append({"seq": seq, "at": at, "actor": d.actor, "agency_id": d.agency_id, "action": d.action,
                         "object_type": d.object_type, "object_id": d.object_id, "reason": d.reason,
                         "detail": detail_json, "prev_hash": last_hash, "hash": h})
            last_seq, last_hash = seq, h
        self.s.execute(insert(audit_log), rows)
        self.s.execute(update(audit_head).where(audit_head.c.id == 1), {"last_seq": last_seq, "last_hash": last_hash})
        return seqs


@dataclass(frozen=True)
class AuditDraft:
    """An audit entry before it is chained."""

    actor: str
    action: str
    object_type: str
    object_id: str | None = None
    agency_id: str | None = None
    reason: str | None = None
    detail: dict[str, Any] | None = None


def iter_audit(session: Session, batch: int = 5000) -> Iterator[AuditRecord]:
    """All audit entries in storage order (by seq), streamed."""
    last = 0
    while True:
        rows = session.execute(
            select(audit_log).where(audit_log.c.seq > last).order_by(audit_log.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        for r in rows:
            yield AuditRecord(r.seq, r.at, r.actor, r.agency_id, r.action, r.object_type, r.object_id,
                              r.reason, r.detail, r.prev_hash, r.hash)
        last = rows[-1].seq


def audit_head_state(session: Session) -> tuple[int, str]:
    r = session.execute(select(audit_head.c.last_seq, audit_head.c.last_hash)).one_or_none()
    return (r.last_seq, r.last_hash) if r else (0, GENESIS_HASH)


def recent_audit(session: Session, *, limit: int = 100, agency_path: str | None = None) -> list[AuditRecord]:
    q = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
    if agency_path is not None:
        q = q.where(audit_log.c.agency_id.in_(select(agencies.c.id).where(
            agencies.c.path.startswith(agency_path, autoescape=True))))
    return [AuditRecord(r.seq, r.at, r.actor, r.agency_id, r.action, r.object_type, r.object_id,
                        r.reason, r.detail, r.prev_hash, r.hash) for r in session.execute(q)]


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, topic: str, payload: dict[str, Any], at: datetime) -> None:
        self.add_many([(topic, payload)], at)

    def add_many(self, events: list[tuple[str, dict[str, Any]]], at: datetime) -> None:
        if events:
            self.s.execute(insert(outbox), [{"topic": t, "payload": canonical_json(p), "created_at": at}
                                            for t, p in events])

    def pending(self, limit: int = 500) -> list[tuple[int, str, dict[str, Any]]]:
        rows = self.s.execute(
            select(outbox.c.id, outbox.c.topic, outbox.c.payload)
            .where(outbox.c.published_at.is_(None)).order_by(outbox.c.id).limit(limit)
        ).all()
        return [(r.id, r.topic, json.loads(r.payload)) for r in rows]

    def mark_published(self, ids: list[int], at: datetime) -> None:
        if ids:
            self.s.execute(update(outbox).where(outbox.c.id.in_(ids)).values(published_at=at))

    def mark_failed(self, ids: list[int]) -> None:
        if ids:
            self.s.execute(update(outbox).where(outbox.c.id.in_(ids)).values(attempts=outbox.c.attempts + 1))


# ---------------------------------------------------------------- unit of work

@dataclass(frozen=True)
class Event:
    """A fact that leaves the transaction through the outbox (topic like 'jingwu.org.user_created')."""

    topic: str
    payload: dict[str, Any]


class SqlUnitOfWork:
    """One transaction: repositories, the audit writer and the outbox share it.

    Events collected with ``emit`` are written to the outbox in the same
    transaction, so an event exists if and only if its state change does.
    """

    def __init__(self, session_factory: Callable[[], Session], clock: Clock,
                 after_commit: Callable[[], None] | None = None) -> None:
        self._factory = session_factory
        self.clock = clock
        self._after_commit = after_commit

    def __enter__(self) -> SqlUnitOfWork:
        self.session = self._factory()
        self.agencies = AgencyRepository(self.session)
        self.towns = TownRepository(self.session)
        self.units = UnitRepository(self.session)
        self.users = UserRepository(self.session)
        self.audit = AuditWriter(self.session, self.clock)
        self.outbox = OutboxRepository(self.session)
        self._events: list[Event] = []
        self._committed = False
        return self

    def audit_head(self) -> tuple[int, str]:
        return audit_head_state(self.session)

    def audit_entries(self) -> Iterator[AuditRecord]:
        return iter_audit(self.session)

    def recent_audit(self, *, limit: int, agency_path: str | None) -> list[AuditRecord]:
        return recent_audit(self.session, limit=limit, agency_path=agency_path)

    def emit(self, topic: str, payload: dict[str, Any]) -> None:
        self._events.append(Event(topic, payload))

    def commit(self) -> None:
        self.outbox.add_many([(ev.topic, ev.payload) for ev in self._events], self.clock.now())
        self.session.commit()
        had_events = bool(self._events)
        self._events = []
        self._committed = True
        if had_events and self._after_commit is not None:
            self._after_commit()

    def rollback(self) -> None:
        self.session.rollback()
        self._events = []

    def __exit__(self, *exc: object) -> None:
        if not self._committed:
            self.session.rollback()
        self.session.close()
