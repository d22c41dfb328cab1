"""Real-time cross-border alerts: an alert shared under an agreement reaches the peer deployment and is
served on both sides as CAP 1.2, valid against the official OASIS schema (tests/data/cap/CAP-v1.2.xsd);
bad CAP codes are refused before anything leaves."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import xmlschema

from exchange.xc_support import deliver, deployment, h, pair, peer_agreement
from support import TEST_DATA, StepClock, data_file

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
ALERT_TERMS = {"alert": ["id", "event", "urgency", "severity", "certainty", "headline", "description", "area_desc",
                         "lon", "lat", "radius_km", "expires"]}


def test_alert_crosses_and_is_valid_cap(tmp_path: Path, clock: StepClock) -> None:
    schema = xmlschema.XMLSchema(str(data_file(TEST_DATA / "cap" / "CAP-v1.2.xsd")))
    with deployment(tmp_path, "sc", clock=clock) as a, deployment(tmp_path, "cq", clock=clock) as b:
        pair(a, b)
        r = a.client.post("/api/v1/exchange/agreements", headers=h(a.client, "cmd_a"), json={
            "agency_code": "STA", "peer_id": "cq", "peer_agency_code": "STB", "purpose": "跨界重大警情实时预警",
            "outgoing": {"alert": ["id", "event"]}, "incoming": {},
            "valid_from": clock.now().isoformat(), "valid_to": (clock.now() + timedelta(days=1)).isoformat()})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_terms"  # CAP codes are required
        aid = peer_agreement(a, b, clock, outgoing=ALERT_TERMS)
        alert = {"id": "AL-1", "event": "危化品运输车辆泄漏", "urgency": "Immediate", "severity": "Severe",
                 "certainty": "Observed", "headline": "G85 交界路段危化品泄漏", "description": "请绕行",
                 "area_desc": "G85 川渝界", "lon": 105.9, "lat": 29.9, "radius_km": 5,
                 "expires": (clock.now() + timedelta(hours=6)).isoformat(), "reporter_phone": "139"}
        bad = a.client.post(f"/api/v1/exchange/agreements/{aid}/shares", headers=h(a.client, "cmd_a"),
                            json={"record_type": "alert", "record": {**alert, "severity": "Catastrophic"}})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_record"
        r = a.client.post(f"/api/v1/exchange/agreements/{aid}/shares", headers=h(a.client, "cmd_a"),
                          json={"record_type": "alert", "record": alert})
        assert r.status_code == 201 and r.json()["stripped"] == ["reporter_phone"]
        assert [o.status for o in deliver(a, b)] == ["applied"]
        [row] = b.client.get("/api/v1/exchange/shares?record_type=alert", headers=h(b.client, "cmd_b")).json()
        assert row["fields"]["lat"] == 29.9 and "reporter_phone" not in row["fields"]
        for d, sid in ((b, row["id"]), (a, a.client.get("/api/v1/exchange/shares?record_type=alert",
                                                        headers=h(a.client, "cmd_a")).json()[0]["id"])):
            cap = d.client.get(f"/api/v1/exchange/shares/{sid}/cap", headers=h(d.client, "cmd_b" if d is b
                                                                                else "cmd_a"))
            assert cap.status_code == 200 and cap.headers["content-type"].startswith("application/cap+xml")
            schema.validate(cap.text)
            root = ET.fromstring(cap.text)
            assert root.findtext(f"{CAP}info/{CAP}severity") == "Severe"
            assert root.findtext(f"{CAP}info/{CAP}area/{CAP}circle") == "29.90000,105.90000 5"
            assert root.findtext(f"{CAP}sent").endswith("+08:00")
        r = b.client.post("/api/v1/exchange/agreements", headers=h(b.client, "cmd_b"), json={})
        assert r.status_code == 422
