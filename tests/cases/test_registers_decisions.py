"""Registers (seized property, frozen accounts) with their timelines and audit; the penalty decision from a
template (HTML, public version redacted; unknown template field refused with nothing written); recorded events
and the deadline lists; the interference register and its weekly report; the reminder run."""

from __future__ import annotations

import io
from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from pypdf import PdfReader
from typer.testing import CliRunner

from jingwu.cases.services.oversight import run_reminders
from jingwu.cli import app as cli_app
from jingwu.platform.container import Container
from support import StepClock, both_databases

from .conftest import Staff, move, open_case, sent
from .test_public_lookup import SEEDED, SUSPECT, VICTIM, add_party, assert_clean, code_for, lookup


@both_databases
def test_property_register_timeline_and_refusals(client: TestClient, staff: Staff, container: Container) -> None:
    case = open_case(client, staff.inv)
    base = f"/api/v1/cases/{case['id']}/property"
    r = client.post(base, headers=staff.inv, json={"description": "黑色手机", "category": "手机",
                                                   "storage_place": "库房 A-1"})
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    act = f"{base}/{iid}/actions"
    assert client.post(act, headers=staff.inv, json={"action": "transfer"}).json()["error"]["code"] == "invalid_input"
    assert client.post(act, headers=staff.inv, json={"action": "transfer", "storage_place": "分局库房 B-2"}).json() \
        == {"status": "transferred"}
    r = client.post(act, headers=staff.inv, json={"action": "found_unrelated", "note": "与案件无关"})
    assert r.status_code == 200
    r = client.post(act, headers=staff.inv, json={"action": "return", "note": "发还"})
    assert r.json() == {"status": "returned"}
    r = client.post(act, headers=staff.inv, json={"action": "dispose"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"
    r = client.post(act, headers=staff.inv, json={"action": "burn"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_action"
    r = client.post(f"{base}/nope/actions", headers=staff.inv, json={"action": "return"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_item"
    f = client.get(f"/api/v1/cases/{case['id']}", headers=staff.inv).json()
    assert [e["action"] for e in f["register_events"]] == ["intake", "transfer", "found_unrelated", "return"]
    assert f["property"][0]["storage_place"] == "分局库房 B-2"
    d = {x["rule"]: x for x in f["deadlines"]}
    assert d["crim.property_unrelated"]["status"] == "done"
    with container.uow() as u:
        acts = [e.action for e in u.audit_entries()]
    assert {"case.property.intake", "case.property.transfer", "case.property.return"} <= set(acts)


@both_databases
def test_account_register_masked_release(client: TestClient, staff: Staff) -> None:
    case = open_case(client, staff.inv)
    base = f"/api/v1/cases/{case['id']}/accounts"
    for body, code in (({"bank": "工行", "number": "12", "amount": "1"}, "invalid_account"),
                       ({"bank": "工行", "number": "6222020200112233", "amount": "1.234"}, "invalid_amount"),
                       ({"bank": "工行", "number": "6222020200112233", "amount": "abc"}, "invalid_amount")):
        assert client.post(base, headers=staff.inv, json=body).json()["error"]["code"] == code
    r = client.post(base, headers=staff.inv, json={"bank": "工行", "number": "6222 0202 0011 2233", "amount": "500"})
    aid = r.json()["id"]
    f = client.get(f"/api/v1/cases/{case['id']}", headers=staff.inv).json()
    assert len(f["accounts"]) == 1 and f["accounts"][0]["masked"] == "**** 2233"
    assert client.post(f"{base}/{aid}/actions", headers=staff.inv, json={"action": "release"}).json() == \
        {"status": "released"}
    r = client.post(f"{base}/{aid}/actions", headers=staff.inv, json={"action": "release"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"


def _admin_case_with_parties(client: TestClient, staff: Staff) -> tuple[dict[str, str], str, str]:
    case = open_case(client, staff.inv, track="administrative", title="殴打他人案")
    vid = add_party(client, staff.inv, case["id"], VICTIM)
    sid = add_party(client, staff.inv, case["id"], SUSPECT)
    assert move(client, staff.inv, case["id"], "investigating").status_code == 200
    return case, vid, sid


@both_databases
def test_penalty_decision_html_and_redacted_public_version(client: TestClient, staff: Staff) -> None:
    case, vid, sid = _admin_case_with_parties(client, staff)
    r = client.post(f"/api/v1/cases/{case['id']}/decision", headers=staff.inv, json={
        "offender_party_id": sid, "facts": f"{SUSPECT['name']}于春熙路殴打{VICTIM['name']}（电话{VICTIM['phone']}）。",
        "legal_basis": "《治安管理处罚法》第五十一条", "penalty": "行政拘留五日", "fine_yuan": "500"})
    assert r.status_code == 201, r.text
    internal = client.get(f"/api/v1/cases/{case['id']}/decision", headers=staff.inv).text
    assert SUSPECT["name"] in internal and SUSPECT["id_number"] in internal and "500.00" in internal
    public = client.get(f"/api/v1/cases/{case['id']}/decision", headers=staff.inv, params={"public": "true"}).text
    assert "行政拘留五日" in public and case["number"] in public
    assert_clean(public)
    code = code_for(client, staff.inv, case["id"], vid)
    v = lookup(client, case["number"], code)
    assert v.json()["state"] == "decision" and "行政拘留五日" in v.json()["decision_html"]
    assert_clean(v.text)
    f = client.get(f"/api/v1/cases/{case['id']}", headers=staff.inv).json()
    assert "adm.fine_payment" in {d["rule"] for d in f["deadlines"]}
    r = client.get(f"/api/v1/cases/{case['id']}/decision.pdf", headers=staff.inv)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")  # the public version by default
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    assert "行政拘留五日" in text
    assert_clean(text)


def test_unknown_template_field_refused_and_nothing_written(client: TestClient, staff: Staff) -> None:
    case, _vid, sid = _admin_case_with_parties(client, staff)
    r = client.post(f"/api/v1/cases/{case['id']}/decision", headers=staff.inv, json={
        "offender_party_id": sid, "facts": "事实", "legal_basis": "依据", "penalty": "警告",
        "template": "<p>{{ offender_name }} {{ offender_salary }}</p>"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_template_field"
    f = client.get(f"/api/v1/cases/{case['id']}", headers=staff.inv).json()
    assert f["case"]["state"] == "investigating" and f["decision"] is None
    assert [t["to_state"] for t in f["transitions"]] == ["accepted", "investigating"]
    assert client.get(f"/api/v1/cases/{case['id']}/decision", headers=staff.inv).json()["error"]["code"] == \
        "no_decision"


def test_unknown_event_refused(client: TestClient, staff: Staff) -> None:
    case = open_case(client, staff.inv)
    for ev in ("suspect.detaned", "case.filed"):
        r = client.post(f"/api/v1/cases/{case['id']}/events", headers=staff.inv, json={"event": ev})
        assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_event"
    assert len(client.get(f"/api/v1/cases/{case['id']}", headers=staff.inv).json()["events"]) == 1


def test_deadline_lists_due_soon_and_overdue(client: TestClient, staff: Staff, clock: StepClock) -> None:
    mine = open_case(client, staff.inv, title="我的案件")
    other = open_case(client, staff.inv2, title="别人的案件")
    rows = client.get("/api/v1/cases", headers=staff.inv).json()
    assert [r["number"] for r in rows] == [mine["number"]] and rows[0]["worst"] == "open"  # filing review
    now = clock.now()
    ev = f"/api/v1/cases/{mine['id']}/events"
    client.post(ev, headers=staff.inv,
                json={"event": "suspect.detained", "at": (now - timedelta(hours=20)).isoformat()})
    rows = client.get("/api/v1/cases", headers=staff.inv).json()
    assert rows[0]["worst"] == "due_soon"
    client.post(ev, headers=staff.inv,
                json={"event": "suspect.arrested", "at": (now - timedelta(hours=25)).isoformat()})
    rows = client.get("/api/v1/cases", headers=staff.inv).json()
    assert rows[0]["worst"] == "overdue"
    assert {d["rule"] for d in rows[0]["deadlines"] if d["status"] == "overdue"} >= {"crim.family_notice_arrest"}
    sup = client.get("/api/v1/cases", headers=staff.legal, params={"view": "all"}).json()
    assert {r["number"] for r in sup} == {mine["number"], other["number"]}
    assert sup[0]["number"] == mine["number"]  # the overdue case first


def test_interference_register_reason_required_and_report(client: TestClient, staff: Staff,
                                                          container: Container, clock: StepClock) -> None:
    case = open_case(client, staff.inv)
    r = client.get(f"/api/v1/cases/{case['id']}", headers=staff.inv2)
    assert r.status_code == 403 and r.json()["error"]["code"] == "reason_required"
    r = move(client, staff.inv2, case["id"], "filed")
    assert r.status_code == 403 and r.json()["error"]["code"] == "reason_required"
    r = client.get(f"/api/v1/cases/{case['id']}", headers=staff.inv2, params={"access_reason": "协助查询同类案件"})
    assert r.status_code == 200 and r.json()["assigned"] is False
    with container.uow() as u:
        entries = [e for e in u.audit_entries() if e.action.startswith("case.interference")]
    assert len(entries) == 1 and entries[0].reason == "协助查询同类案件" and entries[0].actor == "inv2"
    client.get(f"/api/v1/cases/{case['id']}", headers=staff.legal, params={"access_reason": "督办检查"})
    iso = clock.now().astimezone(ZoneInfo(container.settings.timezone)).isocalendar()
    rep = client.get("/api/v1/cases/interference", headers=staff.legal,
                     params={"week": f"{iso.year}-W{iso.week:02d}"}).json()
    assert [(e["username"], e["reason"]) for e in rep["entries"]] == [("inv2", "协助查询同类案件"),
                                                                      ("legal", "督办检查")]
    assert client.get("/api/v1/cases/interference", headers=staff.inv).json()["error"]["code"] == "missing_role"
    assert client.get("/api/v1/cases/interference", headers=staff.legal,
                      params={"week": "2026-W99"}).json()["error"]["code"] == "invalid_week"


def test_interference_cli(client: TestClient, staff: Staff, container: Container, monkeypatch: object) -> None:
    case = open_case(client, staff.inv)
    client.get(f"/api/v1/cases/{case['id']}", headers=staff.inv2, params={"access_reason": "了解进展"})
    iso = container.clock.now().astimezone(ZoneInfo(container.settings.timezone)).isocalendar()
    import jingwu.cases.cli as cases_cli

    monkeypatch.setattr(cases_cli, "get_settings", lambda: container.settings)  # type: ignore[attr-defined]
    res = CliRunner().invoke(cli_app, ["cases", "interference", "--week", f"{iso.year}-W{iso.week:02d}"])
    assert res.exit_code == 0, res.output
    assert "inv2" in res.output and "了解进展" in res.output and case["number"] in res.output
    res = CliRunner().invoke(cli_app, ["cases", "interference", "--week", "bad"])
    assert res.exit_code != 0 and "ISO week" in res.output
    res = CliRunner().invoke(cli_app, ["cases", "remind"])
    assert res.exit_code == 0 and "1 open cases" in res.output, res.output


def test_reminder_run_once_per_level(client: TestClient, staff: Staff, container: Container,
                                     clock: StepClock) -> None:
    case = open_case(client, staff.inv, investigators=["inv", "inv2"])
    client.post(f"/api/v1/cases/{case['id']}/events", headers=staff.inv, json={"event": "suspect.detained"})
    assert run_reminders(c=container).reminders == 0
    clock.advance(hours=21)
    first = run_reminders(c=container)
    assert first.reminders >= 1
    staff_notes = [n for n in sent(container) if n.template == "cases.deadline_reminder"]
    assert {n.address for n in staff_notes} == {"inv", "inv2"} and all(n.channel == "outbox" for n in staff_notes)
    assert run_reminders(c=container).reminders == 0  # not repeated
    clock.advance(hours=4)
    assert run_reminders(c=container).reminders >= 1  # overdue now: a second level
    assert not any(s in str(n.params) for n in sent(container) for s in SEEDED)
