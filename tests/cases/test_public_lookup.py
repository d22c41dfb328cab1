"""Parties, access codes and the public lookup: ≥40-bit codes stored hashed; wrong number and wrong code give
the same answer; a revoked or re-issued code stops working; the suspect's family only after custody; guessing
hits the rate limit; seeded names, ID numbers, phone numbers and addresses never appear in public output;
notifications per party with a dedupe key."""

from __future__ import annotations

import math
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.cases.domain import CODE_ALPHABET, CODE_LENGTH, new_access_code
from jingwu.platform.container import Container
from support import both_databases

from .conftest import Staff, move, open_case, sent

VICTIM = {"role": "victim", "name": "王小明", "id_number": "110101199003077777", "phone": "13912345678",
          "email": "wxm@example.org", "address": "成都市锦江区春熙路88号", "contact": "sms", "lang": "zh-CN"}
SUSPECT = {"role": "suspect", "name": "李大壮", "id_number": "51010419851212001X", "phone": "13800001111",
           "address": "成都市武侯区人民南路4段9号", "contact": "none"}
SEEDED = [VICTIM["name"], VICTIM["id_number"], VICTIM["phone"], VICTIM["email"], VICTIM["address"],
          SUSPECT["name"], SUSPECT["id_number"], SUSPECT["phone"], SUSPECT["address"], "赵家属", "13700002222"]


def add_party(client: TestClient, h: dict[str, str], cid: str, body: dict[str, Any]) -> str:
    r = client.post(f"/api/v1/cases/{cid}/parties", json=body, headers=h)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def code_for(client: TestClient, h: dict[str, str], cid: str, pid: str) -> str:
    r = client.post(f"/api/v1/cases/{cid}/parties/{pid}/code", headers=h)
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def lookup(client: TestClient, number: str, code: str, ip: str = "testclient") -> Any:
    return client.get(f"/api/v1/public/cases/{number}", params={"code": code})


def assert_clean(body: str) -> None:
    for s in SEEDED:
        assert s not in body, f"personal data {s!r} in public output"


def test_code_entropy_and_format() -> None:
    assert CODE_LENGTH * math.log2(len(CODE_ALPHABET)) >= 40
    codes = {new_access_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == 11 and c[5] == "-" for c in codes)


@both_databases
def test_party_lookup_shows_progress_and_no_personal_data(client: TestClient, staff: Staff,
                                                          container: Container) -> None:
    case = open_case(client, staff.inv, title="盗窃案")
    vid = add_party(client, staff.inv, case["id"], VICTIM)
    sid = add_party(client, staff.inv, case["id"], SUSPECT)
    code = code_for(client, staff.inv, case["id"], vid)
    with container.engine.connect() as conn:
        stored = conn.execute(text("SELECT code_hash FROM case_access_codes")).scalars().all()
    assert stored and code not in stored[0] and code.replace("-", "") not in stored[0]
    assert move(client, staff.inv, case["id"], "filed", reason=f"{SUSPECT['name']}涉嫌盗窃").status_code == 200
    client.post(f"/api/v1/cases/{case['id']}/property", headers=staff.inv, json={
        "description": f"{SUSPECT['name']}的手机一部", "category": "手机", "storage_place": "甲所涉案财物库 A-3"})
    client.post(f"/api/v1/cases/{case['id']}/accounts", headers=staff.inv, json={
        "bank": "中国银行", "number": "6217000011112222333", "amount": "12000.50", "holder_party_id": sid})
    r = lookup(client, case["number"], code)
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["state"] == "filed" and v["your_role"] == "victim"
    assert [t["state"] for t in v["timeline"]] == ["accepted", "filed"]
    assert v["unit"]["zh-CN"] == "甲派出所"
    assert v["accounts"][0]["account"] == "**** 2333" and v["accounts"][0]["amount"] == "12000.50"
    assert v["property"][0]["status"] == "in_custody" and "甲所涉案财物库" not in r.text
    assert_clean(r.text)
    assert "6217000011112222333" not in r.text and "涉嫌盗窃" not in r.text  # reasons stay internal
    # lower case, without the dash: the same code
    assert lookup(client, case["number"].lower(), code.replace("-", "").lower()).status_code == 200


@both_databases
def test_wrong_number_and_wrong_code_look_the_same(client: TestClient, staff: Staff) -> None:
    case = open_case(client, staff.inv)
    code = code_for(client, staff.inv, case["id"], add_party(client, staff.inv, case["id"], VICTIM))
    wrong_code = lookup(client, case["number"], "ABCDE-FGHJK")
    wrong_number = lookup(client, "STA-2099-999999", code)
    assert wrong_code.status_code == wrong_number.status_code == 404
    assert wrong_code.json() == wrong_number.json()
    assert wrong_code.json()["error"]["code"] == "no_match"
    # a code of another case does not open this one
    other = open_case(client, staff.inv)
    code2 = code_for(client, staff.inv, other["id"], add_party(client, staff.inv, other["id"], VICTIM))
    assert lookup(client, case["number"], code2).json() == wrong_code.json()


@both_databases
def test_reissue_and_revoke(client: TestClient, staff: Staff) -> None:
    case = open_case(client, staff.inv)
    vid = add_party(client, staff.inv, case["id"], VICTIM)
    first = code_for(client, staff.inv, case["id"], vid)
    second = code_for(client, staff.inv, case["id"], vid)
    assert lookup(client, case["number"], first).status_code == 404
    assert lookup(client, case["number"], second).status_code == 200
    assert client.delete(f"/api/v1/cases/{case['id']}/parties/{vid}/code", headers=staff.inv).status_code == 204
    r = lookup(client, case["number"], second)
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_match"
    r = client.delete(f"/api/v1/cases/{case['id']}/parties/{vid}/code", headers=staff.inv)
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_active_code"


def test_suspect_family_only_after_custody(client: TestClient, staff: Staff, container: Container) -> None:
    case = open_case(client, staff.inv)
    sid = add_party(client, staff.inv, case["id"], SUSPECT)
    fid = add_party(client, staff.inv, case["id"], {"role": "suspect_family", "name": "赵家属", "phone": "13700002222",
                                                    "contact": "sms", "related_party_id": sid})
    r = client.post(f"/api/v1/cases/{case['id']}/parties/{fid}/code", headers=staff.inv)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_in_custody"
    move(client, staff.inv, case["id"], "filed")
    assert not [n for n in sent(container) if n.address == "13700002222"]  # no notice to the family before custody
    r = client.post(f"/api/v1/cases/{case['id']}/events", headers=staff.inv,
                    json={"event": "suspect.detained", "subject": sid, "reason": "刑事拘留"})
    assert r.status_code == 201, r.text
    code = code_for(client, staff.inv, case["id"], fid)
    v = lookup(client, case["number"], code)
    assert v.status_code == 200 and v.json()["your_role"] == "suspect_family"
    assert_clean(v.text)
    move(client, staff.inv, case["id"], "investigating")
    assert [n for n in sent(container) if n.address == "13700002222"]


def test_guessing_hits_the_rate_limit_for_any_number(client: TestClient, staff: Staff) -> None:
    case = open_case(client, staff.inv)
    code = code_for(client, staff.inv, case["id"], add_party(client, staff.inv, case["id"], VICTIM))
    statuses = [lookup(client, case["number"], f"AAAAA-{i:05d}").status_code for i in range(8)]
    assert statuses[:5] == [404] * 5 and 429 in statuses
    r = lookup(client, case["number"], code)  # locked: even the right code waits
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    # an unknown number is throttled the same way
    unknown = [lookup(client, "XX-2026-000001", f"AAAAA-{i:05d}").status_code for i in range(8)]
    assert unknown[:5] == [404] * 5 and 429 in unknown


def test_notifications_per_party_with_dedupe_key(client: TestClient, staff: Staff, container: Container) -> None:
    case = open_case(client, staff.inv)
    vid = add_party(client, staff.inv, case["id"], VICTIM)
    add_party(client, staff.inv, case["id"], {**VICTIM, "name": "Jane Roe", "contact": "email", "lang": "en",
                                              "phone": None, "email": "jane@example.org"})
    add_party(client, staff.inv, case["id"], SUSPECT)  # contact none: no notice
    move(client, staff.inv, case["id"], "filed")
    queued = sent(container)
    assert {(n.channel, n.address, n.lang) for n in queued} == {("sms", VICTIM["phone"], "zh-CN"),
                                                               ("email", "jane@example.org", "en")}
    assert all(n.template == "cases.status_changed" and n.params["case_number"] == case["number"] for n in queued)
    assert all(case["id"] in n.dedupe_key for n in queued) and len({n.dedupe_key for n in queued}) == 2
    assert any(vid in n.dedupe_key for n in queued)
    assert all(n.due_by is not None for n in queued)
    for n in queued:
        assert all(s not in " ".join(n.params.values()) for s in SEEDED)


def test_bad_party_input_is_refused_whole(client: TestClient, staff: Staff) -> None:
    case = open_case(client, staff.inv)
    for body, code in (({**VICTIM, "role": "witness"}, "invalid_role"),
                       ({**VICTIM, "contact": "sms", "phone": None}, "invalid_contact"),
                       ({**VICTIM, "id_number": "12345"}, "invalid_id_number"),
                       ({**VICTIM, "lang": "fr"}, "invalid_lang"),
                       ({"role": "suspect_family", "name": "x", "related_party_id": "nope"}, "unknown_party")):
        r = client.post(f"/api/v1/cases/{case['id']}/parties", json=body, headers=staff.inv)
        assert r.json()["error"]["code"] == code, r.text
    assert client.get(f"/api/v1/cases/{case['id']}", headers=staff.inv).json()["parties"] == []
