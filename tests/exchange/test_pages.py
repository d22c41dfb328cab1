"""The exchange pages: agreements (terms, approvals, records received), requests with deadlines (overdue
marked), the compliance report; Chinese by default, English with ?lang=en; login required; roles checked."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from exchange.xc_support import INCIDENT_TERMS, PW, add_users, h, window
from jingwu.exchange.jobs import tick
from jingwu.platform.container import Container
from support import Org, StepClock, page_login


def test_pages_in_both_languages(client: TestClient, org: Org, container: Container, clock: StepClock) -> None:
    add_users(container)
    assert client.get("/exchange", follow_redirects=False).status_code == 303
    r = client.post("/api/v1/exchange/agreements", headers=h(client, "cmd_a"), json={
        "agency_code": "STA", "partner_agency_code": "STB", "incoming": {},
        "outgoing": {**INCIDENT_TERMS, "measure_notice": ["enterprise", "measure", "taken_at"]},
        "purpose": "交界区域警情通报", **window(clock.now())})
    aid = r.json()["id"]
    client.post(f"/api/v1/exchange/agreements/{aid}/approve", headers=h(client, "cmd_b"))
    client.post(f"/api/v1/exchange/agreements/{aid}/shares", headers=h(client, "inv_a"),
                json={"record_type": "incident", "record": {"id": "INC-9", "summary": "可见摘要", "caller_phone": "1"}})
    client.post("/api/v1/exchange/requests", headers=h(client, "inv_a"), json={
        "agreement_id": aid, "kind": "case_transfer", "title": "移交案件材料",
        "deadline": (clock.now() + timedelta(hours=3)).isoformat()})
    e = client.post("/api/v1/exchange/enterprises", headers=h(client, "cmd_a"), json={
        "name": "某企业", "credit_code": "91510100MA6C000002", "flagged": False, "home_agency_code": "STB"}).json()
    m = client.post("/api/v1/exchange/measures", headers=h(client, "inv_a"), json={
        "enterprise_id": e["id"], "kind": "impoundment", "agency_code": "STA", "case_ref": "K-1",
        "basis": "扣押"}).json()
    client.post(f"/api/v1/exchange/measures/{m['id']}/take", headers=h(client, "inv_a"))
    clock.advance(hours=13)
    tick(container)

    page_login(client, "inv_b", PW)
    html = client.get("/exchange").text
    assert "共享协议" in html and "交界区域警情通报" in html and "生效" in html and "可见摘要" in html
    assert "caller_phone=" not in html
    html = client.get("/exchange/requests").text
    assert "移交案件材料" in html and "案件移交" in html and "已超期" in html
    assert client.get("/exchange/compliance").status_code == 403  # an investigator does not read the report
    en = client.get("/exchange/requests?lang=en").text
    assert "Cooperation requests" in en and "Overdue" in en

    page_login(client, "cmd_br", PW)
    html = client.get("/exchange/compliance").text
    assert "超时未通报" in html and "已升级督办" in html and "扣押" in html
    assert "Late, not sent" in client.get("/exchange/compliance?lang=en").text
