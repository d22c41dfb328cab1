"""The shared risk register: place-based risks with an owner, follow-ups changing status and level, overdue
reviews flagged, and sharing a risk with a partner under an agreement (only the agreed fields leave)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from exchange.xc_support import add_users, h, window
from jingwu.platform.container import Container
from support import Org, StepClock


def test_register_follow_up_and_share(client: TestClient, org: Org, container: Container, clock: StepClock) -> None:
    add_users(container)
    body = {"agency_code": "STA", "kind": "hazmat_site", "title": "界牌加油站储罐", "place": "界牌镇 G85 出口",
            "level": "high", "owner": "甲所 王警官", "lon": 105.9, "lat": 29.9,
            "next_review": (clock.now() + timedelta(days=7)).isoformat()}
    for bad, code in (({"kind": "volcano"}, "invalid_kind"), ({"level": "meh"}, "invalid_level"),
                      ({"lat": None}, "invalid_risk")):
        r = client.post("/api/v1/exchange/risks", headers=h(client, "cmd_a"), json={**body, **bad})
        assert r.status_code == 422 and r.json()["error"]["code"] == code
    assert client.post("/api/v1/exchange/risks", headers=h(client, "cmd_b"), json=body).status_code == 403
    r = client.post("/api/v1/exchange/risks", headers=h(client, "cmd_a"), json=body)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    r = client.post(f"/api/v1/exchange/risks/{rid}/followups", headers=h(client, "inv_a"),
                    json={"text": "已督促企业整改", "status": "mitigating", "level": "medium"})
    assert r.status_code == 200 and r.json()["status"] == "mitigating" and r.json()["level"] == "medium"
    clock.advance(days=8)
    [row] = client.get("/api/v1/exchange/risks", headers=h(client, "cmd_a")).json()
    assert row["review_overdue"] is True
    assert client.get("/api/v1/exchange/risks", headers=h(client, "cmd_b")).json() == []  # not STB's

    a = client.post("/api/v1/exchange/agreements", headers=h(client, "cmd_a"), json={
        "agency_code": "STA", "partner_agency_code": "STB", "incoming": {},
        "outgoing": {"risk": ["id", "kind", "title", "place", "level", "follow_up"]},
        "purpose": "突出风险隐患共享", **window(clock.now())}).json()
    client.post(f"/api/v1/exchange/agreements/{a['id']}/approve", headers=h(client, "cmd_b"))
    r = client.post(f"/api/v1/exchange/risks/{rid}/share", headers=h(client, "cmd_a"), json={"agreement_id": a["id"]})
    assert r.status_code == 201, r.text
    assert r.json()["stripped"] == ["lat", "lon", "owner", "status"]
    [got] = client.get("/api/v1/exchange/shares?record_type=risk", headers=h(client, "cmd_b")).json()
    assert got["fields"] == {"id": rid, "kind": "hazmat_site", "title": "界牌加油站储罐", "place": "界牌镇 G85 出口",
                             "level": "medium", "follow_up": "已督促企业整改"}
    r = client.post(f"/api/v1/exchange/risks/{rid}/followups", headers=h(client, "cmd_a"),
                    json={"text": "整改完成", "status": "closed"})
    assert r.json()["status"] == "closed" and len(r.json()["followups"]) == 2
    r = client.post(f"/api/v1/exchange/risks/{rid}/followups", headers=h(client, "cmd_a"), json={"text": "x"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "risk_closed"
