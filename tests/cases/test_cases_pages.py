"""The cases pages (server-rendered): lists by deadline for investigators and supervisors, the case file, the
reason page for staff not assigned, the rule table, the interference report, the public lookup page; Chinese by
default, English by switch."""

from __future__ import annotations

from fastapi.testclient import TestClient

from support import page_login

from .conftest import Staff, move, open_case
from .test_public_lookup import SUSPECT, VICTIM, add_party


def _session(client: TestClient, user: str) -> None:
    r = page_login(client, user, f"pw-{user}-123", next="/cases")
    assert r.status_code == 303, r.text


def test_pages_zh_and_en(client: TestClient, staff: Staff) -> None:
    case = open_case(client, staff.inv, title="电动车盗窃案", incident_id="inc-1",
                     incident_timeline=[{"at": "2026-03-01T02:00:00Z", "kind": "received", "actor": "disp_a"},
                                        {"at": "2026-03-01T02:10:00Z", "kind": "on_scene", "actor": "A1"}])
    add_party(client, staff.inv, case["id"], VICTIM)
    add_party(client, staff.inv, case["id"], SUSPECT)
    move(client, staff.inv, case["id"], "filed")
    _session(client, "inv")
    r = client.get("/cases")
    assert r.status_code == 200 and case["number"] in r.text and "我的案件" in r.text and "立案审查" not in r.text
    f = client.get(f"/cases/{case['id']}")
    assert f.status_code == 200 and "已立案" in f.text and VICTIM["name"] in f.text
    assert "on_scene" in f.text and "来源警情处置过程" in f.text
    assert "拘留后通知家属" not in f.text  # no detention recorded: no such deadline
    en = client.get(f"/cases/{case['id']}?lang=en")
    assert "Filed" in en.text and "Timeline of the incident" in en.text
    assert client.get("/cases/rules").status_code == 200
    rules = client.get("/cases/rules?lang=en").text
    assert "公通字〔2015〕32号" in rules and "治安管理处罚法 (2025) Art. 118" in rules
    assert client.get("/cases?incident=inc-1").text.count(f'data-case="{case["number"]}"') == 1
    assert 'data-case=' not in client.get("/cases?incident=inc-2").text


def test_reason_page_for_staff_not_assigned_and_interference_page(client: TestClient, staff: Staff) -> None:
    case = open_case(client, staff.inv)
    _session(client, "legal")
    r = client.get(f"/cases/{case['id']}")
    assert r.status_code == 403 and 'name="access_reason"' in r.text
    r = client.get(f"/cases/{case['id']}", params={"access_reason": "督办"})
    assert r.status_code == 200 and "非承办人调阅" in r.text
    sup = client.get("/cases?view=all")
    assert case["number"] in sup.text
    rep = client.get("/cases/interference")
    assert rep.status_code == 200 and "过问干预案件登记" in rep.text


def test_public_page_needs_no_login(client: TestClient) -> None:
    r = client.get("/case-lookup")
    assert r.status_code == 200 and "案件进展查询" in r.text and 'id="lookup-form"' in r.text
    assert "Case progress lookup" in client.get("/case-lookup?lang=en").text
    assert client.get("/cases", follow_redirects=False).status_code == 303


def test_incident_pages_get_a_link_slot_to_their_cases(client: TestClient, staff: Staff) -> None:
    """Cases adds links to the incident page through the feature registry (no import of dispatch): shown to
    users who handle cases, with the incident id in the URL."""
    from starlette.requests import Request

    from jingwu.platform.domain import Principal, Role
    from jingwu.web.ui import _ctx

    app = client.app
    req = Request({"type": "http", "app": app, "method": "GET", "path": "/incidents/x", "headers": [],
                   "query_string": b""})
    inv = Principal("u", "inv", "a", "/a/", frozenset({Role.INVESTIGATOR}))
    disp = Principal("u", "disp", "a", "/a/", frozenset({Role.DISPATCHER}))
    links = _ctx(req, inv)["object_links"]("incident", "inc 7")
    assert ("本警情的案件", "/cases?incident=inc%207") in links
    assert ("由本警情受理案件", "/cases/new?incident=inc%207") in links
    assert _ctx(req, disp)["object_links"]("incident", "inc 7") == []
    assert _ctx(req, inv)["object_links"]("unit", "u1") == []
