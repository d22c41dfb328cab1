"""Cooperation requests between two agencies of one deployment: created under an agreement covering them,
accepted, progress, result; declined; past the deadline nothing is accepted or answered (until the
requester extends it); the timer reminds once before the deadline and marks overdue once after it."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text

from exchange.xc_support import INCIDENT_TERMS, add_users, h, window
from jingwu.exchange.jobs import tick
from jingwu.platform.container import Container
from support import Org, StepClock


def _agreement(client: TestClient, clock: StepClock) -> str:
    r = client.post("/api/v1/exchange/agreements", headers=h(client, "cmd_a"), json={
        "agency_code": "STA", "partner_agency_code": "STB", "outgoing": INCIDENT_TERMS, "incoming": {},
        "purpose": "委托取证与协助抓捕", **window(clock.now())})
    aid = str(r.json()["id"])
    assert client.post(f"/api/v1/exchange/agreements/{aid}/approve", headers=h(client, "cmd_b")).status_code == 200
    return aid


def _new(client: TestClient, aid: str, clock: StepClock, hours: float = 48, **over: object) -> dict:
    r = client.post("/api/v1/exchange/requests", headers=h(client, "inv_a"), json={
        "agreement_id": aid, "kind": "evidence_collection", "title": "调取监控录像", "details": "某路口 10:00-11:00",
        "deadline": (clock.now() + timedelta(hours=hours)).isoformat(), **over})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _act(client: TestClient, rid: str, user: str, action: str, text_: str = "", **kw: object) -> object:
    return client.post(f"/api/v1/exchange/requests/{rid}/actions", headers=h(client, user),
                       json={"action": action, "text": text_, **kw})


def test_request_lifecycle_and_sides(client: TestClient, org: Org, container: Container, clock: StepClock) -> None:
    add_users(container)
    aid = _agreement(client, clock)
    q = _new(client, aid, clock)
    assert q["status"] == "open" and q["outgoing"] is True
    # the requester cannot answer its own request; the requested side cannot extend it
    r = _act(client, q["id"], "inv_a", "accept")
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_requested_side"
    r = _act(client, q["id"], "inv_b", "extend", deadline=(clock.now() + timedelta(days=9)).isoformat())
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_requester"
    r = _act(client, q["id"], "inv_b", "result", "x")
    assert r.status_code == 409 and r.json()["error"]["code"] == "request_not_accepted"
    assert _act(client, q["id"], "inv_b", "accept").status_code == 200
    assert _act(client, q["id"], "inv_b", "progress", "已调取一半").status_code == 200
    r = _act(client, q["id"], "inv_b", "result", "录像已移交")
    assert r.status_code == 200 and r.json()["status"] == "completed" and r.json()["result"] == "录像已移交"
    r = _act(client, q["id"], "inv_b", "progress", "more")
    assert r.status_code == 409 and r.json()["error"]["code"] == "request_closed"
    # a request the agreement does not cover the partner's way: the partner cannot send one back
    r = client.post("/api/v1/exchange/requests", headers=h(client, "inv_b"), json={
        "agreement_id": aid, "kind": "arrest_assistance", "title": "协助抓捕",
        "deadline": (clock.now() + timedelta(hours=5)).isoformat()})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_in_agreement"
    for bad, code in (({"kind": "coffee"}, "invalid_kind"),
                      ({"deadline": (clock.now() - timedelta(hours=1)).isoformat()}, "invalid_deadline")):
        r = client.post("/api/v1/exchange/requests", headers=h(client, "inv_a"), json={
            "agreement_id": aid, "kind": "evidence_collection", "title": "t",
            "deadline": (clock.now() + timedelta(hours=5)).isoformat(), **bad})
        assert r.status_code == 422 and r.json()["error"]["code"] == code
    with container.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM xc_requests")).scalar_one() == 1
        audited = conn.execute(text("SELECT count(*) FROM audit_log WHERE object_type='xc_request' "
                                    "AND action='exchange.request_result'")).scalar_one()
    assert audited == 2  # both agencies


def test_deadline_reminder_overdue_and_extension(client: TestClient, org: Org, container: Container,
                                                 clock: StepClock) -> None:
    add_users(container)
    aid = _agreement(client, clock)
    q = _new(client, aid, clock, hours=30)
    declined = _new(client, aid, clock, hours=30, title="另一请求")
    assert _act(client, declined["id"], "inv_b", "decline", "不属于本所管辖").json()["status"] == "declined"
    assert tick(container) == {"reminded": 0, "overdue": 0, "notices_late": 0}
    clock.advance(hours=7)  # 23 h before the deadline: inside the 24 h reminder lead
    assert tick(container)["reminded"] == 1
    assert tick(container)["reminded"] == 0
    clock.advance(hours=24)
    assert tick(container)["overdue"] == 1
    assert tick(container)["overdue"] == 0
    got = client.get(f"/api/v1/exchange/requests/{q['id']}", headers=h(client, "inv_a")).json()
    assert got["overdue"] is True and [e["kind"] for e in got["events"]] == ["created", "reminder", "overdue"]
    # past the deadline: refused, nothing changed
    r = _act(client, q["id"], "inv_b", "accept")
    assert r.status_code == 409 and r.json()["error"]["code"] == "request_past_deadline"
    assert client.get(f"/api/v1/exchange/requests/{q['id']}", headers=h(client, "inv_a")).json()["status"] == "open"
    # the requester extends; then it can be accepted
    r = _act(client, q["id"], "inv_a", "extend", deadline=(clock.now() + timedelta(days=2)).isoformat())
    assert r.status_code == 200 and r.json()["overdue"] is False
    assert _act(client, q["id"], "inv_b", "accept").status_code == 200
    r = _act(client, q["id"], "inv_a", "withdraw", "案件已撤销")
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
