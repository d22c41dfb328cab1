"""Sharing agreements between two agencies of one deployment, through the API: terms checked, mutual
approval (each side by its own commander), fields outside the agreement stripped before a record leaves,
every share audited on both sides, revocation and expiry stop sharing."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import text

from exchange.xc_support import INCIDENT_TERMS, add_users, h, window
from jingwu.platform.container import Container
from support import Org, StepClock

INCIDENT = {"id": "INC-1", "type_code": "0201", "type_name": "盗窃", "priority": 2, "lon": 104.07, "lat": 30.67,
            "reported_at": "2026-12-01T10:00:00+08:00", "summary": "电动车被盗", "caller_name": "张三",
            "caller_phone": "13800000000", "address": "某路1号"}


def _agreement(client: TestClient, clock: StepClock, **over: object) -> dict:
    body = {"agency_code": "STA", "partner_agency_code": "STB", "outgoing": INCIDENT_TERMS,
            "incoming": {"cooperation_request": ["kind", "title", "details", "deadline"]},
            "purpose": "交界区域警情通报与协作", **window(clock.now()), **over}
    r = client.post("/api/v1/exchange/agreements", json=body, headers=h(client, "cmd_a"))
    assert r.status_code == 201, r.text
    return r.json()


def test_agreement_needs_both_sides_then_strips_and_audits_both(client: TestClient, org: Org, container: Container,
                                                               clock: StepClock) -> None:
    add_users(container)
    a = _agreement(client, clock)
    assert a["state"] == "proposed" and a["local_approved_by"] == "user:cmd_a" and a["partner_approved_by"] is None
    # not in force until the partner approves: nothing can be shared
    r = client.post(f"/api/v1/exchange/agreements/{a['id']}/shares", json={"record_type": "incident",
                                                                          "record": INCIDENT},
                    headers=h(client, "cmd_a"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "agreement_not_in_force"
    # the proposing side cannot approve twice
    r = client.post(f"/api/v1/exchange/agreements/{a['id']}/approve", headers=h(client, "cmd_a"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "already_approved"
    # an investigator of the partner has no approving role
    r = client.post(f"/api/v1/exchange/agreements/{a['id']}/approve", headers=h(client, "inv_b"))
    assert r.status_code == 403
    r = client.post(f"/api/v1/exchange/agreements/{a['id']}/approve", headers=h(client, "cmd_b"))
    assert r.status_code == 200 and r.json()["state"] == "active", r.text
    assert r.json()["partner_approved_by"] == "user:cmd_b"

    r = client.post(f"/api/v1/exchange/agreements/{a['id']}/shares", json={"record_type": "incident",
                                                                          "record": INCIDENT},
                    headers=h(client, "inv_a"))
    assert r.status_code == 201, r.text
    sent = r.json()
    assert set(sent["sent"]) == set(INCIDENT_TERMS["incident"])
    assert sent["stripped"] == ["address", "caller_name", "caller_phone"]
    with container.engine.connect() as conn:
        stored = json.loads(conn.execute(text("SELECT fields FROM xc_shares")).scalar_one())
        audits = conn.execute(text("SELECT action, agency_id, detail FROM audit_log WHERE object_type='xc_share' "
                                   "ORDER BY seq")).all()
    assert "caller_phone" not in stored and "address" not in stored and stored["summary"] == "电动车被盗"
    assert [(x.action, x.agency_id) for x in audits] == [("exchange.record_sent", org.station_a),
                                                          ("exchange.record_received", org.station_b)]
    assert json.loads(audits[0].detail)["stripped"] == ["address", "caller_name", "caller_phone"]

    # the partner sees it; the read is audited
    rows = client.get("/api/v1/exchange/shares", headers=h(client, "inv_b")).json()
    assert len(rows) == 1 and rows[0]["fields"]["id"] == "INC-1" and "caller_name" not in rows[0]["fields"]
    # the partner cannot send incidents back: its way only carries requests
    r = client.post(f"/api/v1/exchange/agreements/{a['id']}/shares", json={"record_type": "incident",
                                                                          "record": INCIDENT},
                    headers=h(client, "inv_b"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_in_agreement"

    r = client.post(f"/api/v1/exchange/agreements/{a['id']}/revoke", json={"reason": "协作结束"},
                    headers=h(client, "cmd_b"))
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    r = client.post(f"/api/v1/exchange/agreements/{a['id']}/shares", json={"record_type": "incident",
                                                                          "record": INCIDENT},
                    headers=h(client, "inv_a"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "agreement_not_in_force"
    with container.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM xc_shares")).scalar_one() == 1


def test_bad_terms_windows_and_scope_are_refused(client: TestClient, org: Org, container: Container,
                                                 clock: StepClock) -> None:
    add_users(container)
    hdr = h(client, "cmd_a")
    base = {"agency_code": "STA", "partner_agency_code": "STB", "purpose": "test purpose", **window(clock.now())}
    for outgoing, code in (({"incident": ["id", "shoe_size"]}, "invalid_terms"), ({"weather": ["id"]}, "invalid_terms"),
                           ({"incident": ["summary"]}, "invalid_terms")):
        r = client.post("/api/v1/exchange/agreements", json={**base, "outgoing": outgoing}, headers=hdr)
        assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    w = window(clock.now())
    r = client.post("/api/v1/exchange/agreements", json={**base, "outgoing": INCIDENT_TERMS,
                                                         "valid_from": w["valid_to"], "valid_to": w["valid_from"]},
                    headers=hdr)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_window"
    # cmd_b cannot propose on behalf of STA
    r = client.post("/api/v1/exchange/agreements", json={**base, "outgoing": INCIDENT_TERMS},
                    headers=h(client, "cmd_b"))
    assert r.status_code == 403
    with container.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM xc_agreements")).scalar_one() == 0


def test_expired_agreement_shares_nothing(client: TestClient, org: Org, container: Container,
                                          clock: StepClock) -> None:
    add_users(container)
    a = _agreement(client, clock, **window(clock.now(), days=1))
    client.post(f"/api/v1/exchange/agreements/{a['id']}/approve", headers=h(client, "cmd_b"))
    clock.advance(days=2)
    got = client.get(f"/api/v1/exchange/agreements/{a['id']}", headers=h(client, "cmd_a")).json()
    assert got["state"] == "expired"
    r = client.post(f"/api/v1/exchange/agreements/{a['id']}/shares",
                    json={"record_type": "incident", "record": {"id": "X"}}, headers=h(client, "inv_a"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "agreement_not_in_force"
