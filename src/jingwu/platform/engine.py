"""Database engines and sessions: ``make_engine`` (SQLite pragmas and write locking, PostgreSQL
pooling), ``make_session_factory``, ``ping``, and the ``RelayLease`` that picks the one process
relaying the outbox.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


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
            if self._conn is not None:
                try:
                    # unlock before ending the session: the server frees a closed session's locks only
                    # once it notices, so another process asking at once could still be refused
                    self._conn.exec_driver_sql(f"SELECT pg_advisory_unlock({self.KEY})")
                except Exception:
                    log.debug("unlocking the relay lease failed", exc_info=True)
            self._drop()
            if self._held:
                log.info("outbox relay lease released")
            self._held = False
            self._retry_at = 0.0


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
