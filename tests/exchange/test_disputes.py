"""Jurisdiction disputes: raised by one agency, argued by both, decided by the legal office above both
(only after both argued), recorded and audited for both sides; a decided dispute takes no more arguments."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from exchange.xc_support import add_users, h
from jingwu.platform.container import Container
from support import Org


def test_dispute_raised_argued_decided(client: TestClient, org: Org, container: Container) -> None:
    add_users(container)
    r = client.post("/api/v1/exchange/disputes", headers=h(client, "inv_a"), json={
        "agency_code": "STA", "other_agency_code": "STB", "subject": "川公刑2026-77 跨区盗窃系列案",
        "question": "首次发案地在甲所，抓获地在乙所，由谁管辖？"})
    assert r.status_code == 201, r.text
    did = r.json()["id"]
    url = f"/api/v1/exchange/disputes/{did}"
    # the other side cannot raise on STA's behalf; the decision waits for both sides
    assert client.post("/api/v1/exchange/disputes", headers=h(client, "inv_b"), json={
        "agency_code": "STA", "other_agency_code": "STB", "subject": "x", "question": "y"}).status_code == 403
    assert client.post(f"{url}/arguments", headers=h(client, "inv_a"),
                       json={"text": "首次发案地在甲所辖区"}).status_code == 200
    r = client.post(f"{url}/decision", headers=h(client, "legal"),
                    json={"competent_agency_code": "STA", "reasoning": "r"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_argued"
    assert client.post(f"{url}/arguments", headers=h(client, "inv_b"),
                       json={"text": "主要犯罪地与抓获地均在乙所"}).status_code == 200
    # a commander of the branch is not the legal office; a party cannot decide
    assert client.post(f"{url}/decision", headers=h(client, "cmd_br"),
                       json={"competent_agency_code": "STA", "reasoning": "r"}).status_code == 403
    r = client.post(f"{url}/decision", headers=h(client, "legal"),
                    json={"competent_agency_code": "CITY", "reasoning": "r"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_decision"
    r = client.post(f"{url}/decision", headers=h(client, "legal"),
                    json={"competent_agency_code": "STB", "reasoning": "有利于查清犯罪事实：主要犯罪地在乙所"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["status"] == "decided" and d["competent_agency_id"] == org.station_b and d["decided_by"] == "user:legal"
    assert [a["agency_id"] for a in d["arguments"]] == [org.station_a, org.station_b]
    r = client.post(f"{url}/arguments", headers=h(client, "inv_a"), json={"text": "再议"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "dispute_decided"
    with container.engine.connect() as conn:
        rows = conn.execute(text("SELECT agency_id FROM audit_log WHERE action='exchange.dispute_decided'")).all()
    assert sorted(x.agency_id for x in rows) == sorted([org.station_a, org.station_b])
    assert [x["id"] for x in client.get("/api/v1/exchange/disputes", headers=h(client, "inv_b")).json()] == [did]
