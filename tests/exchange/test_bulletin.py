"""The monthly joint bulletin at the receiving deployment: records received by type and partner, incidents by
type, the day series, requests answered in time; as JSON and as the page (zh/en) with its inline charts;
a bad month refused; no personal field printed; the PDF form (A4, tables and the day chart) with the same scope,
permission and validation as the JSON."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pypdf import PdfReader

from exchange.xc_support import PW, deliver, deployment, h, pair, peer_agreement
from support import StepClock, page_login


def test_bulletin_counts_what_crossed(tmp_path: Path, clock: StepClock) -> None:
    with deployment(tmp_path, "sc", clock=clock) as a, deployment(tmp_path, "cq", clock=clock) as b:
        pair(a, b)
        terms = {"incident": ["id", "type_name", "summary", "caller_phone"],
                 "risk": ["id", "kind", "title", "place", "level"]}
        aid = peer_agreement(a, b, clock, outgoing=terms)
        for i, kind in enumerate(["盗窃", "盗窃", "诈骗"]):
            a.client.post(f"/api/v1/exchange/agreements/{aid}/shares", headers=h(a.client, "inv_a"), json={
                "record_type": "incident", "record": {"id": f"I{i}", "type_name": kind, "summary": "s",
                                                      "caller_phone": "13800000000"}})
        a.client.post(f"/api/v1/exchange/agreements/{aid}/shares", headers=h(a.client, "cmd_a"), json={
            "record_type": "risk", "record": {"id": "R1", "kind": "hazmat_site", "title": "加油站", "place": "界牌镇",
                                              "level": "high"}})
        r = b.client.post("/api/v1/exchange/requests", headers=h(b.client, "inv_b"), json={
            "agreement_id": aid, "kind": "document_verification", "title": "核查营业执照",
            "deadline": (clock.now() + timedelta(hours=4)).isoformat()})
        rid = r.json()["id"]
        deliver(a, b)
        deliver(b, a)
        for action, txt in (("accept", ""), ("result", "执照真实")):
            a.client.post(f"/api/v1/exchange/requests/{rid}/actions", headers=h(a.client, "inv_a"),
                          json={"action": action, "text": txt})
        deliver(a, b)
        month = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
        got = b.client.get(f"/api/v1/exchange/bulletin?month={month}", headers=h(b.client, "cmd_b")).json()
        assert got["received_by_type"] == {"incident": 3, "risk": 1}
        assert got["sent_by_type"] == {}
        assert got["by_partner"] == {"sc": 4}
        assert got["incidents_by_type"] == {"盗窃": 2, "诈骗": 1}
        assert sum(got["series_received"]) == 4 and len(got["series_received"]) == len(got["days"])
        assert got["requests"]["answered_in_time"] == 1 and got["requests"]["sent"] == 1
        assert got["risks"][0]["place"] == "界牌镇"
        sent = a.client.get(f"/api/v1/exchange/bulletin?month={month}", headers=h(a.client, "cmd_a")).json()
        assert sent["sent_by_type"] == {"incident": 3, "risk": 1} and sent["requests"]["received"] == 1
        for bad in ("2026-13", "9999-12", "0001-01"):
            r = b.client.get(f"/api/v1/exchange/bulletin?month={bad}", headers=h(b.client, "cmd_b"))
            assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_month"
        r = b.client.get("/api/v1/exchange/compliance?from=2026-01-01T00:00:00", headers=h(b.client, "cmd_b"))
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_time"  # a time without offset
        assert b.client.get(f"/api/v1/exchange/bulletin?month={month}",
                            headers=h(b.client, "inv_b")).status_code == 403

        pdf = b.client.get(f"/api/v1/exchange/bulletin.pdf?month={month}", headers=h(b.client, "cmd_b"))
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        text = "".join(pg.extract_text() for pg in PdfReader(io.BytesIO(pdf.content)).pages)
        assert "月度联合通报" in text and month in text
        assert "盗窃" in text and "界牌镇" in text and "13800000000" not in text
        en = b.client.get(f"/api/v1/exchange/bulletin.pdf?month={month}&lang=en", headers=h(b.client, "cmd_b"))
        assert "Monthly joint bulletin" in "".join(pg.extract_text() for pg in PdfReader(io.BytesIO(en.content)).pages)
        # the sending side's PDF is its own scope: what it sent, not what b received
        sent_pdf = a.client.get(f"/api/v1/exchange/bulletin.pdf?month={month}", headers=h(a.client, "cmd_a"))
        sent_text = "".join(pg.extract_text() for pg in PdfReader(io.BytesIO(sent_pdf.content)).pages)
        assert sent_pdf.status_code == 200 and "盗窃" not in sent_text
        assert b.client.get(f"/api/v1/exchange/bulletin.pdf?month={month}",
                            headers=h(b.client, "inv_b")).status_code == 403
        r = b.client.get("/api/v1/exchange/bulletin.pdf?month=2026-13", headers=h(b.client, "cmd_b"))
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_month"

        page_login(b.client, "cmd_b", PW)
        html = b.client.get(f"/exchange/bulletin?month={month}").text
        assert "月度联合通报" in html and "盗窃" in html and "界牌镇" in html and "<rect" in html
        assert "13800000000" not in html and f"/api/v1/exchange/bulletin.pdf?month={month}" in html
        assert "Monthly joint bulletin" in b.client.get(f"/exchange/bulletin?month={month}&lang=en").text
