"""The notification outbox on SQLite and PostgreSQL: written in the caller's transaction, idempotent,
refusing bad requests whole; delivery with attempts, exponential backoff, dead after N, a lease so two
workers never send the same row, and the administrators' masked view."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from jingwu.platform import notify
from jingwu.platform.container import Container
from jingwu.platform.errors import Conflict, InvalidInput, NotFound
from jingwu.platform.notify import NotificationRequest, backoff_s, deliver_due, enqueue
from jingwu.platform.notify_gateways import DeliveryError, Gateways, NotifySettings
from jingwu.platform.notify_store import repo
from support import both_databases

pytestmark = both_databases

PARAMS = {"case_number": "A2026-0001", "status": "已立案", "code": "K7Q2-9XPM-44TB"}


def req(**kw: object) -> NotificationRequest:
    base: dict[str, object] = {"channel": "sms", "address": "+86 138-1234-5678", "template": "test.case_update",
                               "lang": "zh-CN", "params": PARAMS, "dedupe_key": "case:1:filed:party:1",
                               "ref": "A2026-0001"}
    base.update(kw)
    return NotificationRequest(**base)  # type: ignore[arg-type]


def count(c: Container, table: str = "notifications") -> int:
    with c.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def ns(**kw: object) -> NotifySettings:
    return NotifySettings(interval_s=0, **kw)  # type: ignore[arg-type]


def run(c: Container, gateways: Gateways, s: NotifySettings | None = None, **kw: object) -> list[notify.Outcome]:
    return deliver_due(uow_factory=c.uow, gateways=gateways, settings=s or ns(), clock=c.clock, **kw)  # type: ignore[arg-type]


def test_rolled_back_caller_sends_nothing(container: Container, gateways: Gateways, recorder) -> None:  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        enqueue(uow, req())
        uow.rollback()
    assert count(container) == 0
    assert run(container, gateways) == [] and recorder.sent == []


def test_enqueue_is_idempotent_on_the_dedupe_key(container: Container) -> None:
    with container.uow() as uow:
        a = enqueue(uow, req())
        uow.commit()
    with container.uow() as uow:
        b = enqueue(uow, req(address="13900000000"))  # same key, other details: the first row stands
        uow.commit()
    assert a == b and count(container) == 1
    with container.read_uow() as uow:
        row = repo(uow).get(a)
    assert row is not None and row.address == "+86 138-1234-5678" and row.status == "queued"


@pytest.mark.parametrize(("change", "code"), [
    ({"template": "no.such.template"}, "unknown_template"),
    ({"channel": "fax"}, "unknown_channel"),
    ({"lang": "fr"}, "unknown_lang"),
    ({"address": "not a phone"}, "invalid_address"),
    ({"channel": "email", "address": "nobody-at-example"}, "invalid_address"),
    ({"params": {"case_number": "A1"}}, "template_params"),
    ({"dedupe_key": ""}, "invalid_dedupe_key"),
    ({"due_by": datetime(2026, 1, 1, 12, 0)}, "invalid_due_by"),
])
def test_bad_requests_are_refused_whole(container: Container, change: dict[str, object], code: str) -> None:
    with container.uow() as uow, pytest.raises(InvalidInput) as e:
        enqueue(uow, req(**change))
    assert e.value.code == code
    assert count(container) == 0


def test_delivery_renders_in_the_recipients_language(container: Container, gateways: Gateways, recorder) -> None:  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        zh = enqueue(uow, req())
        en = enqueue(uow, req(dedupe_key="k-en", lang="en", channel="email", address="victim@example.org"))
        uow.commit()
    got = {o.id: o for o in run(container, gateways)}
    assert {got[zh].status, got[en].status} == {"delivered"}
    by_id = {m.id: m for m in recorder.sent}
    assert by_id[zh].body == "您好，案件A2026-0001状态更新为：已立案。查询码 K7Q2-9XPM-44TB。"
    assert by_id[zh].subject == "案件A2026-0001进展"
    assert by_id[en].subject == "Case A2026-0001 update" and "Access code K7Q2-9XPM-44TB" in by_id[en].body
    with container.read_uow() as uow:
        row = repo(uow).get(zh)
        hist = repo(uow).attempts_of(zh)
    assert row is not None and row.status == "delivered" and row.delivered_at is not None and row.attempts == 1
    assert [(h.attempt, h.outcome) for h in hist] == [(1, "delivered")]
    assert row.params == {}  # sent through a real adapter: the parameters (the access code) are not kept
    assert run(container, gateways) == []  # delivered rows are not sent again


def test_concurrent_enqueues_of_one_key_make_one_row(container: Container) -> None:
    start = threading.Barrier(4)
    got: list[str] = []
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            with container.uow() as uow:
                start.wait()
                nid = enqueue(uow, req(address=f"1380000000{i}"))
                uow.commit()
            got.append(nid)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(got) == 4 and len(set(got)) == 1
    assert count(container) == 1


def test_outbox_channel_is_delivered_and_logged_masked(container: Container, gateways: Gateways, caplog) -> None:  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        nid = enqueue(uow, req(channel="outbox", address="13812345678"))
        uow.commit()
    with caplog.at_level("INFO", logger="jingwu.notify"):
        [o] = run(container, gateways)
    assert o.status == "delivered"
    with container.read_uow() as uow:
        row = repo(uow).get(nid)
    assert row is not None and row.params == PARAMS  # the outbox keeps the message: its parameters stay
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert nid in logged and "138****5678" in logged and "13812345678" not in logged


def test_failures_back_off_exponentially_then_die(container: Container, gateways: Gateways, recorder) -> None:  # type: ignore[no-untyped-def]
    s = ns(max_attempts=3, backoff_base_s=10, backoff_max_s=15)
    assert [backoff_s(n, s) for n in (1, 2, 3)] == [10, 15, 15]  # 10·2^(n−1), capped at 15
    with container.uow() as uow:
        nid = enqueue(uow, req())
        uow.commit()
    recorder.fail = DeliveryError("http: provider answered 503 for 13812345678")
    [o] = run(container, gateways, s)
    assert (o.status, o.attempt) == ("failed", 1)
    assert "13812345678" not in (o.detail or "") and "138********" in (o.detail or "")
    assert run(container, gateways, s) == []  # not due before its backoff
    container.clock.advance(seconds=9)
    assert run(container, gateways, s) == []
    container.clock.advance(seconds=2)
    [o] = run(container, gateways, s)
    assert (o.status, o.attempt) == ("failed", 2)
    container.clock.advance(seconds=16)
    [o] = run(container, gateways, s)
    assert (o.status, o.attempt) == ("dead", 3)
    container.clock.advance(hours=2)
    assert run(container, gateways, s) == []
    with container.read_uow() as uow:
        hist = repo(uow).attempts_of(nid)
        row = repo(uow).get(nid)
    assert [h.outcome for h in hist] == ["failed", "failed", "dead"]
    assert row is not None and row.status == "dead" and row.next_attempt_at is not None
    # the first retry was due exactly base seconds after the first attempt ended
    assert hist[1].started_at - hist[0].finished_at >= timedelta(seconds=10)


def test_a_permanent_refusal_is_dead_at_once(container: Container, gateways: Gateways, recorder) -> None:  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        enqueue(uow, req())
        uow.commit()
    recorder.fail = DeliveryError("http: provider answered 400", permanent=True)
    before = notify.ATTEMPTS.labels("sms", "fake", "dead")._value.get()
    [o] = run(container, gateways)
    assert (o.status, o.attempt) == ("dead", 1)
    assert notify.ATTEMPTS.labels("sms", "fake", "dead")._value.get() == before + 1  # counted for /metrics


def test_two_workers_never_send_the_same_row(container: Container, gateways: Gateways, recorder) -> None:  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        ids = {enqueue(uow, req(dedupe_key=f"k{i}")) for i in range(12)}
        uow.commit()
    start = threading.Barrier(3)
    results: list[list[notify.Outcome]] = []
    lock = threading.Lock()

    def worker() -> None:
        start.wait()
        got = run(container, gateways, ns(batch=12))
        with lock:
            results.append(got)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent = [m.id for m in recorder.sent]
    assert sorted(sent) == sorted(ids)  # each exactly once
    assert sum(len(r) for r in results) == 12


def test_a_lost_worker_releases_its_row_when_the_lease_ends(container: Container, gateways: Gateways, recorder) -> None:  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        nid = enqueue(uow, req())
        uow.commit()
    now = container.clock.now()
    with container.uow() as uow:  # a worker claims the row and dies before sending
        assert repo(uow).claim(nid, token="dead-worker", now=now, lease_until=now + timedelta(seconds=120))
        uow.commit()
    assert run(container, gateways) == []  # still leased
    container.clock.advance(seconds=121)
    [o] = run(container, gateways)
    assert (o.id, o.status, o.attempt) == (nid, "delivered", 2)
    with container.uow() as uow:  # the dead worker's late report changes nothing
        assert not repo(uow).finish(nid, token="dead-worker", values={"status": "failed"})
        uow.commit()


def test_administrators_see_masked_scoped_lists_and_retry(container: Container, org, gateways: Gateways,  # type: ignore[no-untyped-def]
                                                           recorder) -> None:
    from jingwu.platform import services

    with container.uow() as uow:
        a = enqueue(uow, req(dedupe_key="a", agency_id=org.station_a,
                             due_by=container.clock.now() + timedelta(hours=24)))
        b = enqueue(uow, req(dedupe_key="b", agency_id=org.station_b, channel="email", address="li.si@example.org"))
        top = enqueue(uow, req(dedupe_key="c"))
        uow.commit()
    services.create_user(services.CreateUser("adm_a", "adm_a", "pw-adm-a-123", "STA", ("admin",)),
                         uow=container.uow(), actor=None)
    from jingwu.platform.domain import Principal, Role

    def principal(user: str, agency_id: str) -> Principal:
        with container.read_uow() as uow:
            path = uow.agencies.get(agency_id).path
        return Principal(user_id=user, username=user, agency_id=agency_id, agency_path=path,
                         roles=frozenset({Role.ADMIN}))

    city_admin = principal("admin", org.city)
    station_admin = principal("adm_a", org.station_a)
    seen = {v.id: v for v in notify.list_notifications(city_admin, uow=container.read_uow())}
    assert set(seen) == {a, b, top}
    assert seen[a].to == "138****5678" and seen[b].to == "l***@example.org"
    assert {v.id for v in notify.list_notifications(station_admin, uow=container.read_uow())} == {a}
    with pytest.raises(NotFound):
        notify.notification_detail(station_admin, b, uow=container.read_uow())
    with pytest.raises(InvalidInput):
        notify.list_notifications(city_admin, uow=container.read_uow(), statuses=["lost"])
    with pytest.raises(Conflict):  # queued: nothing to retry
        notify.retry(city_admin, a, uow=container.uow())
    recorder.fail = DeliveryError("refused", permanent=True)
    run(container, gateways)
    assert notify.notification_detail(city_admin, a, uow=container.read_uow()).status == "dead"
    recorder.fail = None
    v = notify.retry(station_admin, a, uow=container.uow())
    assert (v.status, v.attempts) == ("queued", 0)
    outcomes = {o.id: o.status for o in run(container, gateways)}
    assert outcomes[a] == "delivered"
    d = notify.notification_detail(city_admin, a, uow=container.read_uow())
    assert [h.outcome for h in d.history] == ["dead", "delivered"] and not d.late
    with container.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'notification_retried'")).scalar() == 1


def test_late_when_not_delivered_by_due_by(container: Container) -> None:
    from jingwu.platform.domain import Principal, Role

    with container.uow() as uow:
        enqueue(uow, req(due_by=container.clock.now() + timedelta(minutes=5)))
        uow.commit()
    p = Principal(user_id="x", username="x", agency_id="x", agency_path="/x/", roles=frozenset({Role.ADMIN}))
    assert not notify.list_notifications(p, uow=container.read_uow())[0].late
    container.clock.advance(minutes=6)
    assert notify.list_notifications(p, uow=container.read_uow())[0].late


def test_due_by_is_stored_as_utc(container: Container) -> None:
    due = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    with container.uow() as uow:
        nid = enqueue(uow, req(due_by=due))
        uow.commit()
    with container.read_uow() as uow:
        row = repo(uow).get(nid)
    assert row is not None and row.due_by == due
