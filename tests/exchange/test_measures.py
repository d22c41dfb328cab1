"""Coercive measures on enterprises: a measure touching a flagged enterprise waits for a commander of a
superior agency; the home agency is notified within 12 hours (here another agency of the deployment, and a
peer deployment through a signed message); the timer escalates a late notice once; the compliance report."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from exchange.xc_support import add_users, deliver, deployment, h, pair, peer_agreement, window
from jingwu.exchange.jobs import tick
from jingwu.platform.container import Container
from support import Org, StepClock


def _enterprise(client: TestClient, **over: object) -> str:
    r = client.post("/api/v1/exchange/enterprises", headers=h(client, "cmd_a"), json={
        "name": "某重点工程建设公司", "credit_code": "91510100MA6C000001", "flagged": True,
        "flag_reason": "成渝双城经济圈重点工程", "home_agency_code": "STB", **over})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_flagged_enterprise_needs_superior_and_a_notice_in_12_hours(client: TestClient, org: Org,
                                                                    container: Container, clock: StepClock) -> None:
    add_users(container)
    r = client.post("/api/v1/exchange/agreements", headers=h(client, "cmd_a"), json={
        "agency_code": "STA", "partner_agency_code": "STB", "incoming": {},
        "outgoing": {"measure_notice": ["enterprise", "measure", "taken_at", "acting_agency", "case_ref"]},
        "purpose": "涉企强制措施12小时通报", **window(clock.now())})
    aid = r.json()["id"]
    client.post(f"/api/v1/exchange/agreements/{aid}/approve", headers=h(client, "cmd_b"))
    eid = _enterprise(client)
    r = client.post("/api/v1/exchange/enterprises", headers=h(client, "cmd_a"), json={
        "name": "x", "credit_code": "123", "flagged": False, "home_agency_code": "STB"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_credit_code"
    r = client.post("/api/v1/exchange/measures", headers=h(client, "inv_a"), json={
        "enterprise_id": eid, "kind": "seizure", "agency_code": "STA", "case_ref": "A-1", "basis": "依法查封"})
    m = r.json()
    assert m["status"] == "pending_approval" and m["needs_approval"] is True
    r = client.post(f"/api/v1/exchange/measures/{m['id']}/take", headers=h(client, "inv_a"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "approval_required"
    r = client.post(f"/api/v1/exchange/measures/{m['id']}/decision", headers=h(client, "cmd_a"),
                    json={"approve": True})
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_superior"
    r = client.post(f"/api/v1/exchange/measures/{m['id']}/decision", headers=h(client, "cmd_b"),
                    json={"approve": True})
    assert r.status_code == 403  # another station is not above STA
    r = client.post(f"/api/v1/exchange/measures/{m['id']}/decision", headers=h(client, "cmd_br"),
                    json={"approve": True})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    t = client.post(f"/api/v1/exchange/measures/{m['id']}/take", headers=h(client, "inv_a")).json()
    assert t["notice_state"] == "pending"
    clock.advance(hours=11, minutes=59)
    assert tick(container)["notices_late"] == 0
    r = client.post(f"/api/v1/exchange/measures/{m['id']}/notify", headers=h(client, "inv_a"), json={"text": ""})
    assert r.status_code == 200 and r.json()["notice_state"] == "on_time"
    clock.advance(hours=1)
    assert tick(container)["notices_late"] == 0  # notified in time: nothing fires
    # the home agency received the notice (its own audit entry)
    with container.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log WHERE action='exchange.measure_notified' "
                                 "AND agency_id=:b"), {"b": org.station_b}).scalar_one() == 1
    rows = client.get("/api/v1/exchange/shares?record_type=measure_notice", headers=h(client, "cmd_b")).json()
    assert rows[0]["fields"]["measure"] == "seizure"
    # only the agreed fields: the local notice is stripped like any share
    assert set(rows[0]["fields"]) == {"enterprise", "measure", "taken_at", "acting_agency", "case_ref"}
    assert rows[0]["stripped"] == ["basis", "credit_code"]

    # a second measure, notified late: the timer escalates it once, the report counts it late
    m2 = client.post("/api/v1/exchange/measures", headers=h(client, "inv_a"), json={
        "enterprise_id": eid, "kind": "freeze", "agency_code": "STA", "case_ref": "A-2", "basis": "冻结账户"}).json()
    client.post(f"/api/v1/exchange/measures/{m2['id']}/decision", headers=h(client, "cmd_br"), json={"approve": True})
    client.post(f"/api/v1/exchange/measures/{m2['id']}/take", headers=h(client, "inv_a"))
    clock.advance(hours=13)
    assert tick(container)["notices_late"] == 1
    rep = client.get("/api/v1/exchange/compliance", headers=h(client, "cmd_br")).json()
    assert rep["totals"]["on_time"] == 1 and rep["totals"]["late_pending"] == 1
    assert rep["totals"]["taken_without_approval"] == 0
    client.post(f"/api/v1/exchange/measures/{m2['id']}/notify", headers=h(client, "inv_a"), json={"text": "补报"})
    rep = client.get("/api/v1/exchange/compliance", headers=h(client, "legal")).json()
    assert rep["totals"]["late"] == 1 and rep["totals"]["late_pending"] == 0
    assert client.get("/api/v1/exchange/compliance", headers=h(client, "inv_b")).status_code == 403


def test_notice_to_a_peer_deployment(tmp_path: Path, clock: StepClock) -> None:
    with deployment(tmp_path, "sc", clock=clock) as a, deployment(tmp_path, "cq", clock=clock) as b:
        pair(a, b)
        peer_agreement(a, b, clock, outgoing={"measure_notice": ["enterprise", "measure", "taken_at",
                                                                   "acting_agency", "case_ref"]})
        eid = _enterprise(a.client, home_agency_code=None, home_peer_id="cq")
        m = a.client.post("/api/v1/exchange/measures", headers=h(a.client, "inv_a"), json={
            "enterprise_id": eid, "kind": "detention", "agency_code": "STA", "case_ref": "A-9",
            "basis": "刑事拘留"}).json()
        a.client.post(f"/api/v1/exchange/measures/{m['id']}/decision", headers=h(a.client, "cmd_br"),
                      json={"approve": True})
        a.client.post(f"/api/v1/exchange/measures/{m['id']}/take", headers=h(a.client, "inv_a"))
        clock.advance(hours=2)
        r = a.client.post(f"/api/v1/exchange/measures/{m['id']}/notify", headers=h(a.client, "inv_a"), json={})
        assert r.status_code == 200 and r.json()["notice_state"] == "on_time"
        assert [o.status for o in deliver(a, b)] == ["applied"]
        rows = b.client.get("/api/v1/exchange/shares?record_type=measure_notice", headers=h(b.client, "cmd_b")).json()
        assert rows[0]["fields"] == {"enterprise": "某重点工程建设公司", "measure": "detention",
                                     "taken_at": rows[0]["fields"]["taken_at"], "acting_agency": "甲派出所",
                                     "case_ref": "A-9"}
        assert "basis" not in rows[0]["fields"]
