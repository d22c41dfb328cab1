"""The incidents module (警情, #12 item 5) on the Chengdu demo city, both databases: the list's filters,
search, paging and agency scope; the CSV export in local time with the zone; one incident's whole record
(calls, merges, assignments with arrival flags, statuses, feedback, personal-data reads)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.platform.container import Container
from support import both_databases, login

pytestmark = both_databases

CENTRE = (104.0657, 30.6598)
EAST = (104.1200, 30.6800)


def hdr(api: TestClient, city, user: str = "dispatcher") -> dict[str, str]:  # type: ignore[no-untyped-def]
    return login(api, user, city[1][user])


def call(api: TestClient, h: dict[str, str], at: tuple[float, float] = CENTRE, type_code: str = "020200",
         **extra) -> dict:  # type: ignore[no-untyped-def, type-arg]
    body = {"channel": "phone", "type_code": type_code, "lon": at[0], "lat": at[1], "accuracy_m": 30,
            "caller_name": "张三", "caller_phone": "13800000000", **extra}
    r = api.post("/api/v1/calls", json=body, headers=h)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def run(api: TestClient, city, iid: str, h: dict[str, str], steps: int = 4) -> str:  # type: ignore[no-untyped-def]
    """Dispatch the best unit and walk it through the status chain (30 s a step); returns the unit id."""
    unit = api.get(f"/api/v1/incidents/{iid}/recommendations", headers=h).json()["units"][0]["unit_id"]
    assert api.post(f"/api/v1/incidents/{iid}/dispatch", json={"unit_id": unit}, headers=h).status_code == 200
    for st in ["acknowledged", "en_route", "on_scene", "cleared"][:steps]:
        city[0].clock.advance(seconds=30)
        assert api.post(f"/api/v1/units/{unit}/status", json={"status": st}, headers=h).status_code == 200
    return unit  # type: ignore[no-any-return]


def ids(r) -> set[str]:  # type: ignore[no-untyped-def]
    assert r.status_code == 200, r.text
    return {i["id"] for i in r.json()["items"]}


def test_list_filters_search_paging_and_scope(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    h = hdr(api, city)
    a = call(api, h, CENTRE, type_code="020200", address="人民南路二段 18 号")
    b = call(api, h, EAST, type_code="010400", address="二仙桥东三路 5 号")
    d = call(api, h, (104.0432, 30.6421), type_code="020200", address="武侯祠大街 1 号")
    run(api, city, b["incident_id"], h, steps=3)
    every = api.get("/api/v1/incidents", headers=h)
    assert ids(every) == {a["incident_id"], b["incident_id"], d["incident_id"]} and every.json()["total"] == 3
    # newest first
    assert [i["id"] for i in every.json()["items"]] == [d["incident_id"], b["incident_id"], a["incident_id"]]
    assert ids(api.get("/api/v1/incidents?type_code=020200", headers=h)) == {a["incident_id"], d["incident_id"]}
    assert ids(api.get("/api/v1/incidents?status=on_scene", headers=h)) == {b["incident_id"]}
    assert ids(api.get("/api/v1/incidents?status=open,on_scene", headers=h)) == {a["incident_id"], b["incident_id"],
                                                                               d["incident_id"]}
    prio = api.get("/api/v1/incidents", headers=h).json()["items"][0]["priority"]
    assert d["incident_id"] in ids(api.get(f"/api/v1/incidents?priority={prio}", headers=h))
    # search: address text, full number, bare sequence
    assert ids(api.get("/api/v1/incidents", params={"q": "二仙桥"}, headers=h)) == {b["incident_id"]}
    assert ids(api.get("/api/v1/incidents", params={"q": b["number"]}, headers=h)) == {b["incident_id"]}
    seq = str(int(b["number"][-6:]))
    assert b["incident_id"] in ids(api.get("/api/v1/incidents", params={"q": seq}, headers=h))
    assert ids(api.get("/api/v1/incidents", params={"q": "100%_"}, headers=h)) == set()  # LIKE wildcards escaped
    # time range
    now = c.clock.now()
    assert ids(api.get("/api/v1/incidents", params={"since": (now + timedelta(hours=1)).isoformat()},
                       headers=h)) == set()
    assert len(ids(api.get("/api/v1/incidents", params={"since": (now - timedelta(hours=1)).isoformat(),
                                                         "until": (now + timedelta(hours=1)).isoformat()},
                           headers=h))) == 3
    # paging
    p1 = api.get("/api/v1/incidents?per_page=2&page=1", headers=h).json()
    p2 = api.get("/api/v1/incidents?per_page=2&page=2", headers=h).json()
    assert (p1["pages"], len(p1["items"]), len(p2["items"])) == (2, 2, 1)
    assert not {i["id"] for i in p1["items"]} & {i["id"] for i in p2["items"]}
    # station filter and scope: the station of incident a sees only its own
    st = every.json()["items"][2]["agency_id"]
    assert a["incident_id"] in ids(api.get(f"/api/v1/incidents?station={st}", headers=h))
    with c.engine.connect() as conn:
        officer_agency = conn.execute(text("SELECT agency_id FROM users WHERE username='officer'")).scalar_one()
        conn.execute(text("UPDATE incidents SET agency_id=:a WHERE id=:i"), {"a": officer_agency,
                                                                            "i": a["incident_id"]})
        conn.commit()
    officer = hdr(api, city, "officer")
    mine = ids(api.get("/api/v1/incidents", headers=officer))
    assert a["incident_id"] in mine and all(
        i["agency_id"] == officer_agency for i in api.get("/api/v1/incidents", headers=officer).json()["items"])
    foreign = next(i for i in every.json()["items"] if i["agency_id"] != officer_agency)
    assert foreign["id"] not in mine
    r = api.get(f"/api/v1/incidents?station={foreign['agency_id']}", headers=officer)
    assert r.status_code == 403 and r.json()["error"]["code"] == "out_of_scope"
    assert api.get(f"/api/v1/incidents/{foreign['id']}/record", headers=officer).status_code == 403


def test_list_refuses_bad_filters(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = hdr(api, city)
    for params, code in [({"status": "sleeping"}, "invalid_status"), ({"flag": "haunted"}, "invalid_flag"),
                         ({"priority": "9"}, "invalid_priority"),
                         ({"until": "0001-01-01T00:00:00Z"}, "invalid_range"),
                         ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "invalid_range"),
                         ({"since": "2026-01-02T00:00:00"}, "invalid_time")]:
        r = api.get("/api/v1/incidents", params=params, headers=h)
        assert r.status_code == 422 and r.json()["error"]["code"] == code, (params, r.text)
    assert api.get("/api/v1/incidents?per_page=500", headers=h).status_code == 422
    assert api.get("/api/v1/incidents").status_code == 401


def test_flag_filters(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    h = hdr(api, city)
    a = call(api, h, CENTRE)
    b = call(api, h, EAST)
    run(api, city, a["incident_id"], h, steps=3)
    with c.engine.connect() as conn:
        conn.execute(text("UPDATE assignments SET arrival_flags='too_soon' WHERE incident_id=:i"),
                     {"i": a["incident_id"]})
        conn.commit()
    assert ids(api.get("/api/v1/incidents?flag=arrival_flagged", headers=h)) == {a["incident_id"]}
    item = next(i for i in api.get("/api/v1/incidents", headers=h).json()["items"] if i["id"] == a["incident_id"])
    assert "arrival_flagged" in item["flags"] and item["units"]
    assert b["incident_id"] not in ids(api.get("/api/v1/incidents?flag=arrival_flagged&flag=escalated", headers=h))


def test_export_is_local_time_with_zone(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = hdr(api, city)
    a = call(api, h, CENTRE, address="人民南路")
    call(api, h, EAST, type_code="010400")
    r = api.get("/api/v1/incidents/export.csv?type_code=020200", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    body = r.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [x["number"] for x in rows] == [a["number"]]
    rec = api.get(f"/api/v1/incidents/{a['incident_id']}/record", headers=h).json()
    received = datetime.fromisoformat(rec["incident"]["received_at"]).astimezone(UTC)
    local = received + timedelta(hours=8)  # the demo deployment's zone: Asia/Shanghai, +08:00 all year
    assert rows[0]["received_at"] == local.strftime("%Y-%m-%d %H:%M:%S") + " +08:00"
    assert rows[0]["address"] == "人民南路" and "13800000000" not in body and "张三" not in body
    bad = api.get("/api/v1/incidents/export.csv?until=0001-01-01T00:00:00Z", headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_range"


def test_record_has_the_whole_timeline_and_audits_personal_data(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    h = hdr(api, city)
    first = call(api, h, EAST)
    c.clock.advance(seconds=20)
    dup = call(api, h, EAST, caller_name="李四", caller_phone="13900000000")
    assert api.post(f"/api/v1/incidents/{dup['incident_id']}/merge", json={"into": first["incident_id"]},
                    headers=hdr(api, city, "calltaker")).status_code == 204
    unit = run(api, city, first["incident_id"], h, steps=3)
    with c.engine.connect() as conn:
        conn.execute(text("UPDATE assignments SET arrival_flags='too_soon,far_from_scene' WHERE unit_id=:u"),
                     {"u": unit})
        conn.commit()
    c.clock.advance(seconds=30)
    api.post(f"/api/v1/units/{unit}/status", json={"status": "cleared"}, headers=h)
    assert api.post(f"/api/v1/units/{unit}/feedback", json={"text": "已调解"}, headers=h).status_code == 204
    rec = api.get(f"/api/v1/incidents/{first['incident_id']}/record", headers=h).json()
    assert rec["personal_shown"] is False and "13800000000" not in str(rec) and "李四" not in str(rec)
    assert [x["number"] for x in rec["calls"]] == [first["number"], dup["number"]]
    assert rec["merges"][0]["state"] == "merged"
    asg = rec["assignments"][0]
    assert asg["unit_id"] == unit and asg["arrival_flags"] == "too_soon,far_from_scene" and asg["feedback"] == "已调解"
    kinds = [e["kind"] for e in rec["timeline"]]
    for k in ("received", "duplicate_call_merged", "dispatched", "unit_acknowledged", "unit_en_route",
              "unit_on_scene", "unit_cleared", "feedback", "closed"):
        assert k in kinds, (k, kinds)
    assert kinds.index("received") < kinds.index("dispatched") < kinds.index("unit_on_scene") < kinds.index("closed")
    on_scene = next(e for e in rec["timeline"] if e["kind"] == "unit_on_scene")
    assert on_scene["arrival_flags"] == "too_soon,far_from_scene"
    assert any(e["source"] == "merged_call" for e in rec["timeline"])
    assert "arrival_flagged" in rec["incident"]["flags"]
    # personal data: gated, audited per call, and the reads appear in the record
    analyst = hdr(api, city, "analyst")
    r = api.get(f"/api/v1/incidents/{first['incident_id']}/record?personal=true", headers=analyst)
    assert r.status_code == 422 and r.json()["error"]["code"] == "missing_reason"
    # a role that does not work calls sees free text withheld, and never the callers
    plain = api.get(f"/api/v1/incidents/{first['incident_id']}/record", headers=analyst).json()
    assert all(x["summary"] in (None, "…") and x["address"] in (None, "…") for x in plain["calls"])
    opened = api.get(f"/api/v1/incidents/{first['incident_id']}/record",
                     params={"personal": "true", "reason": "研判"}, headers=analyst).json()
    assert opened["personal_shown"] is False and all(x["caller"] is None for x in opened["calls"])
    full = api.get(f"/api/v1/incidents/{first['incident_id']}/record",
                   params={"personal": "true", "reason": "回拨核实"}, headers=h).json()
    assert {(x["caller"]["name"], x["caller"]["phone"]) for x in full["calls"]} == {
        ("张三", "13800000000"), ("李四", "13900000000")}
    with c.engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, reason, object_id FROM audit_log WHERE action='personal_data_read'"
                                 )).all()
    assert {r[2] for r in rows} == {first["incident_id"], dup["incident_id"]}
    assert {(r[0], r[1]) for r in rows} == {("dispatcher", "回拨核实")}
    again = api.get(f"/api/v1/incidents/{first['incident_id']}/record", headers=h).json()
    assert [e["actor"] for e in again["timeline"] if e["kind"] == "personal_data_read"] == ["dispatcher"] * 2
    assert len(again["personal_data_reads"]) == 2
    assert api.get("/api/v1/incidents/00000000-0000-0000-0000-000000000000/record", headers=h).status_code == 404


def test_pages_render_list_and_record_in_local_time(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    from support import page_login

    h = hdr(api, city)
    a = call(api, h, CENTRE, address="人民南路二段")
    page_login(api, "dispatcher", city[1]["dispatcher"], next="/incidents")
    r = api.get("/incidents")
    assert r.status_code == 200 and a["number"] in r.text and "Asia/Shanghai" in r.text
    assert 'data-tz="Asia/Shanghai"' in r.text
    assert "/m/incidents" not in r.text  # the menu entry is no longer "coming"
    r = api.get("/incidents?q=nothing-like-this")
    assert r.status_code == 200 and 'id="inc-empty"' in r.text
    r = api.get("/incidents?status=sleeping")
    assert r.status_code == 200 and "invalid_status" in r.text
    rec = api.get(f"/incidents/{a['incident_id']}")
    assert rec.status_code == 200 and a["number"] in rec.text and "+08:00" in rec.text
    assert "13800000000" not in rec.text
    shown = api.get(f"/incidents/{a['incident_id']}?personal=1&reason=核实")
    assert "13800000000" in shown.text
    assert api.get("/incidents/00000000-0000-0000-0000-000000000000").status_code == 404


def test_export_and_paging_over_many_incidents(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    """More incidents than one IN list holds (records_store.CHUNK): the export has every one, in order."""
    import uuid

    from jingwu.dispatch.records_store import CHUNK
    from jingwu.dispatch.wiring import dispatch_uow

    c: Container = city[0]
    h = hdr(api, city)
    with c.engine.connect() as conn:
        station = conn.execute(text("SELECT id FROM agencies WHERE kind='station' ORDER BY path")).first()[0]
    now = c.clock.now()
    n = CHUNK * 2 + 5
    rows = [{"id": str(uuid.uuid4()), "status": "closed", "channel": "phone", "type_code": "020200",
             "category": "dispute", "priority": 2, "level": "station", "lon": 104.06, "lat": 30.66,
             "address": f"测试路 {i} 号", "agency_id": station, "received_at": now - timedelta(minutes=i),
             "created_by": "test"} for i in range(n)]
    uow = dispatch_uow(c)
    with uow:
        uow.incidents.insert_many(rows)
        uow.commit()
    last = api.get(f"/api/v1/incidents?per_page=200&page={-(-n // 200)}", headers=h).json()
    assert last["total"] == n and len(last["items"]) == n % 200 and last["items"][-1]["address"] == f"测试路 {n - 1} 号"
    r = api.get("/api/v1/incidents/export.csv", headers=h)
    assert r.status_code == 200, r.text
    out = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(out) == n and out[0]["address"] == "测试路 0 号" and out[-1]["address"] == f"测试路 {n - 1} 号"
