"""Login hardening (issue #13 item 1): lockout per account and per address with a doubling backoff, 429 with
Retry-After, unknown names audited and verified against a dummy hash, no write transaction while hashing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.platform import services
from jingwu.platform.container import Container
from jingwu.platform.throttle import LoginThrottle, ThrottlePolicy
from support import Org, StepClock, page_login

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_account_locks_after_its_failures_and_the_lockout_doubles() -> None:
    th = LoginThrottle(ThrottlePolicy(account_failures=3, first_lockout=timedelta(seconds=30)))
    for k in range(2):
        th.failed("Alice", f"10.0.0.{k}", T0)
        assert th.retry_after("alice", "10.0.0.9", T0) == 0  # names compare without case
    th.failed("alice", "10.0.0.3", T0)
    assert th.retry_after("alice", "10.0.0.9", T0) == 30
    assert th.retry_after("bob", "10.0.0.9", T0) == 0  # another account from another address may go on
    th.failed("alice", "10.0.0.3", T0 + timedelta(seconds=31))
    assert th.retry_after("alice", None, T0 + timedelta(seconds=31)) == 60
    th.succeeded("alice")
    assert th.retry_after("alice", None, T0 + timedelta(seconds=31)) == 0


def test_failures_leave_the_window() -> None:
    th = LoginThrottle(ThrottlePolicy(account_failures=3, window=timedelta(minutes=15)))
    th.failed("a", None, T0)
    th.failed("a", None, T0 + timedelta(minutes=1))
    th.failed("a", None, T0 + timedelta(minutes=16))  # the first one has left the window: 2 counted
    assert th.retry_after("a", None, T0 + timedelta(minutes=16)) == 0


def test_one_address_guessing_many_accounts_is_locked() -> None:
    th = LoginThrottle(ThrottlePolicy(account_failures=100, address_failures=4))
    for k in range(4):
        th.failed(f"user{k}", "192.0.2.7", T0)
    assert th.retry_after("someone-else", "192.0.2.7", T0) > 0
    assert th.retry_after("someone-else", "192.0.2.8", T0) == 0


def test_lockout_is_capped() -> None:
    th = LoginThrottle(ThrottlePolicy(account_failures=1, max_lockout=timedelta(minutes=15)))
    for _ in range(40):
        th.failed("a", None, T0)
    assert th.retry_after("a", None, T0) == 15 * 60


def _audit(c: Container, action: str) -> list[Any]:
    with c.engine.connect() as conn:
        return list(conn.execute(text("SELECT actor, object_id, detail FROM audit_log WHERE action = :a ORDER BY seq"),
                                 {"a": action}).all())


def test_tenth_wrong_password_answers_429_with_retry_after(client: TestClient, org: Org, container: Container) -> None:
    codes = [client.post("/api/v1/auth/token", data={"username": "disp_a", "password": "wrong-guess"}).status_code
             for _ in range(10)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 5
    r = client.post("/api/v1/auth/token", data={"username": "disp_a", "password": org.passwords["disp_a"]})
    assert r.status_code == 429  # even the right password waits out the lockout
    assert r.json()["error"]["code"] == "login_locked"
    assert int(r.headers["Retry-After"]) >= 1
    failed = _audit(container, "login_failed")
    assert len(failed) == 5  # refused before any password work: not re-audited
    assert json.loads(failed[-1].detail)["locked_for_s"] == 30  # the failure that locked the account says so
    clock: StepClock = container.clock  # type: ignore[assignment]
    clock.advance(seconds=int(r.headers["Retry-After"]) + 1)
    r = client.post("/api/v1/auth/token", data={"username": "disp_a", "password": org.passwords["disp_a"]})
    assert r.status_code == 200


def test_unknown_names_are_audited_and_answered_like_wrong_passwords(client: TestClient, org: Org,
                                                                     container: Container) -> None:
    a = client.post("/api/v1/auth/token", data={"username": "nobody-here", "password": "x" * 10})
    b = client.post("/api/v1/auth/token", data={"username": "disp_a", "password": "x" * 10})
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json()
    rows = _audit(container, "login_failed")
    assert {r.actor for r in rows} == {"nobody-here", "disp_a"}
    unknown = next(r for r in rows if r.actor == "nobody-here")
    assert unknown.object_id is None and json.loads(unknown.detail)["known_user"] is False


def test_login_page_shows_the_lockout(client: TestClient, org: Org) -> None:
    for _ in range(5):
        page_login(client, "analyst", "nope-nope")
    r = page_login(client, "analyst", "nope-nope")
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert "秒后再试" in r.text


def test_password_is_verified_outside_the_write_transaction(container: Container, org: Org,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """While argon2 runs, no write unit of work is open (on SQLite it would hold the write lock)."""
    open_writes = {"n": 0, "during_verify": []}
    real_enter, real_exit = type(container.uow()).__enter__, type(container.uow()).__exit__

    def enter(self: Any) -> Any:
        open_writes["n"] += 1  # type: ignore[operator]
        return real_enter(self)

    def exit_(self: Any, *a: Any) -> Any:
        open_writes["n"] -= 1  # type: ignore[operator]
        return real_exit(self, *a)

    real_verify = services.verify_password

    def verify(h: str, pw: str) -> bool:
        open_writes["during_verify"].append(open_writes["n"])  # type: ignore[union-attr]
        return real_verify(h, pw)

    monkeypatch.setattr(type(container.uow()), "__enter__", enter)
    monkeypatch.setattr(type(container.uow()), "__exit__", exit_)
    monkeypatch.setattr(services, "verify_password", verify)
    services.login("disp_a", org.passwords["disp_a"], uow=container.uow(), read_uow=container.read_uow(),
                   clock=container.clock, secret=container.settings.secret_key, ttl=timedelta(minutes=5))
    assert open_writes["during_verify"] == [0]
