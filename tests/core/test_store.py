"""Storage on SQLite and PostgreSQL: migrations match the models, the audit
chain holds under concurrent writers and catches tampering, the outbox shares
the transaction of the change it announces.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from jingwu.features import database_metadata
from jingwu.platform import services
from jingwu.platform.container import Container
from jingwu.platform.db import drift
from jingwu.platform.domain import Role
from jingwu.platform.errors import Conflict
from support import both_databases

pytestmark = both_databases


def test_models_and_migrations_do_not_drift(container: Container) -> None:
    assert drift(container.engine, database_metadata()) == []


def test_drift_check_sees_a_column_missing_from_migrations(container: Container) -> None:
    # The check must be able to fail: drop a column behind Alembic's back.
    with container.engine.begin() as conn:
        conn.execute(text("ALTER TABLE towns DROP COLUMN population_note"))
    diffs = drift(container.engine, database_metadata())
    assert any("population_note" in str(d) for d in diffs)


def audit_count(c: Container) -> int:
    with c.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one())


def test_every_state_change_is_audited_and_chain_verifies(container: Container, org) -> None:  # type: ignore[no-untyped-def]
    n, brk = services.verify_audit(uow=container.uow())
    assert brk is None
    # 4 agencies + 5 users were created through services
    assert n == audit_count(container) >= 9
    with container.engine.connect() as conn:
        actions = {r[0] for r in conn.execute(text("SELECT action FROM audit_log"))}
    assert {"agency_created", "user_created"} <= actions


def test_tampered_row_is_named_by_verify(container: Container, org) -> None:  # type: ignore[no-untyped-def]
    with container.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"))
    _n, brk = services.verify_audit(uow=container.uow())
    assert brk is not None and brk.seq == 3


def test_deleted_row_is_caught(container: Container, org) -> None:  # type: ignore[no-untyped-def]
    with container.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 4"))
    _n, brk = services.verify_audit(uow=container.uow())
    assert brk is not None and brk.seq == 5


def test_deleted_last_row_is_caught(container: Container, org) -> None:  # type: ignore[no-untyped-def]
    with container.engine.begin() as conn:
        last = conn.execute(text("SELECT max(seq) FROM audit_log")).scalar_one()
        conn.execute(text(f"DELETE FROM audit_log WHERE seq = {int(last)}"))
    _n, brk = services.verify_audit(uow=container.uow())
    assert brk is not None and brk.seq == last


def test_concurrent_writers_keep_one_chain(container: Container, org) -> None:  # type: ignore[no-untyped-def]
    before = audit_count(container)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(10):
                with container.uow() as uow:
                    uow.audit.write(actor=f"t{i}", action="probe", object_type="test", object_id=f"{i}-{j}")
                    uow.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert audit_count(container) == before + 40
    assert services.verify_audit(uow=container.uow())[1] is None


def test_failed_command_leaves_nothing_half_written(container: Container, org) -> None:  # type: ignore[no-untyped-def]
    before = audit_count(container)
    with pytest.raises(Conflict):
        services.create_user(services.CreateUser("admin", "dup", "long-enough-pw", "CITY", ("analyst",)),
                             uow=container.uow(), actor=None)
    assert audit_count(container) == before
    with container.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM users WHERE username='admin'")).scalar_one() == 1


def test_outbox_row_commits_with_the_change_and_not_without(container: Container, org) -> None:  # type: ignore[no-untyped-def]
    services.create_user(services.CreateUser("newbie", "New", "long-enough-pw", "STA", ("analyst",)),
                         uow=container.uow(), actor=None)
    with container.uow() as uow:
        pending = uow.outbox.pending()
    assert any(t == "jingwu.platform.user_created" for _i, t, _p in pending)
    n = len(pending)
    with container.uow() as uow:
        uow.emit("jingwu.test.never", {"x": 1})
        uow.audit.write(actor="t", action="probe", object_type="test")
        uow.rollback()
    with container.uow() as uow:
        assert len(uow.outbox.pending()) == n


def test_timestamps_come_back_timezone_aware_utc(container: Container, org) -> None:  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        entries = list(uow.audit_entries())
    assert entries and all(e.at.utcoffset() is not None and e.at.utcoffset().total_seconds() == 0 for e in entries)


def test_subtree_reads_match_wildcards_in_agency_paths_literally(container: Container) -> None:
    """Agency paths are LIKE patterns' prefixes: a ``_`` or ``%`` in a path matches only itself."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    ids = ("r_1", "rx1", "r%1", "r-z-1")
    with container.uow() as uow:
        for aid in ids:
            uow.agencies.add(id=aid, parent_id=None, kind="city_bureau", code=f"code-{aid}", name=aid, name_en=None,
                             path=f"/{aid}/", lon=None, lat=None, jurisdiction=None, source=None, at=now)
            uow.units.add(call_sign=f"unit-{aid}", kind="patrol", agency_id=aid, lon=121.0, lat=31.0, at=now)
            uow.users.add(username=f"user-{aid}", display_name=aid, password_hash="x", agency_id=aid,
                          roles=[Role.ADMIN], at=now)
            uow.audit.write(actor="test", action="probe", object_type="test", object_id=aid, agency_id=aid)
        uow.agencies.add(id="r_1-child", parent_id="r_1", kind="branch_bureau", code="code-r_1-child", name="c",
                         name_en=None, path="/r_1/r_1-child/", lon=None, lat=None, jurisdiction=None,
                         source=None, at=now)
        uow.commit()
    with container.uow() as uow:
        assert [a.id for a in uow.agencies.in_subtree("/r_1/")] == ["r_1", "r_1-child"]
        assert [a.id for a in uow.agencies.in_subtree("/r%1/")] == ["r%1"]
        assert [u.call_sign for u in uow.units.in_subtree("/r_1/")] == ["unit-r_1"]
        assert [u.call_sign for u in uow.units.in_subtree("/r%1/")] == ["unit-r%1"]
        assert [u.username for u in uow.users.in_subtree("/r_1/")] == ["user-r_1"]
        assert [u.username for u in uow.users.in_subtree("/r%1/")] == ["user-r%1"]
        assert [e.object_id for e in uow.recent_audit(limit=100, agency_path="/r_1/")] == ["r_1"]
        assert [e.object_id for e in uow.recent_audit(limit=100, agency_path="/r%1/")] == ["r%1"]
        assert len(uow.units.in_subtree("/")) == len(ids)
