"""Issue #12 items 3 and 4 on the Chengdu demo city, both databases: every assignment keeps its ETA and
route; the run card's required set goes out in one action (a unit taken meanwhile is refused and
reported, the others go out, nothing half-assigned); "send the next best"; a warning when an incident
closes short of its set; calls handled without units (consultation, transfer to 12345 or another agency,
duplicate): no recommendations, no units unless overridden with a reason, never a fire engine for a
consultation, closed with a reason."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.dispatch.services import assignments as assignments_svc
from jingwu.dispatch.services import dispatch_sets
from jingwu.dispatch.wiring import dispatch_uow
from support import both_databases, login

pytestmark = both_databases

CENTRE = (104.0657, 30.6598)
EAST = (104.1200, 30.6800)
TWO_CARS = "010600"  # run card "01": two patrol cars, any time of day
ONE_CAR = "030200"  # run card "03": one patrol car


def hdr(api: TestClient, city: Any, user: str = "dispatcher") -> dict[str, str]:
    return login(api, user, city[1][user])


def call(api: TestClient, h: dict[str, str], type_code: str = TWO_CARS, at: tuple[float, float] = CENTRE,
         **extra: Any) -> str:
    r = api.post("/api/v1/calls", json={"channel": "phone", "type_code": type_code, "lon": at[0], "lat": at[1],
                                        "accuracy_m": 30, **extra}, headers=h)
    assert r.status_code == 201, r.text
    return str(r.json()["incident_id"])


def recs(api: TestClient, h: dict[str, str], iid: str, **q: Any) -> dict[str, Any]:
    r = api.get(f"/api/v1/incidents/{iid}/recommendations", params={"limit": 100, **q}, headers=h)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def detail(api: TestClient, h: dict[str, str], iid: str) -> dict[str, Any]:
    r = api.get(f"/api/v1/incidents/{iid}", headers=h)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def count(city: Any, sql: str, **params: Any) -> int:
    with city[0].engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def err(r: Any, status: int, code: str) -> None:
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text


def walk(api: TestClient, h: dict[str, str], unit: str, steps: tuple[str, ...], city: Any) -> None:
    for st in steps:
        city[0].clock.advance(seconds=240)  # plausible times (a later sanity check flags "too soon")
        r = api.post(f"/api/v1/units/{unit}/status", json={"status": st}, headers=h)
        assert r.status_code == 200, r.text


# ------------------------------------------------------------------ ETA and route on every assignment


def test_one_click_dispatch_keeps_eta_route_and_required_set(api: TestClient, city: Any) -> None:
    h = hdr(api, city)
    iid = call(api, h, ONE_CAR)
    top = recs(api, h, iid)["units"][0]
    r = api.post(f"/api/v1/incidents/{iid}/dispatch", json={"unit_id": top["unit_id"]}, headers=h)
    assert r.status_code == 200, r.text
    a = r.json()
    # the stored ETA is the route's, on the unit's own travel mode: the recommendation's ETA to the second
    assert a["eta_seconds"] == pytest.approx(top["eta_seconds"], abs=1.0)
    assert a["travel_mode"] == top["travel_mode"] and a["route_metres"] > 0
    route = api.get(f"/api/v1/assignments/{a['id']}/route", headers=h)
    assert route.status_code == 200, route.text
    rt = route.json()
    assert rt["geometry"]["type"] == "LineString" and len(rt["geometry"]["coordinates"]) >= 2
    assert rt["meters"] == pytest.approx(a["route_metres"]) and rt["seconds"] == pytest.approx(a["eta_seconds"])
    # the route ends at the incident
    end = rt["geometry"]["coordinates"][-1]
    inc = detail(api, h, iid)
    assert abs(end[0] - inc["snapped_lon"]) < 1e-3 and abs(end[1] - inc["snapped_lat"]) < 1e-3
    # the unit view shows the order with its ETA
    order = api.get(f"/api/v1/units/{top['unit_id']}/assignment", headers=h).json()
    assert order["assignment"]["eta_seconds"] == pytest.approx(a["eta_seconds"])
    ev = next(e for e in inc["timeline"] if e["kind"] == "dispatched")
    assert ev["detail"]["required"] and ev["detail"]["eta_seconds"] == pytest.approx(a["eta_seconds"])
    err(api.get("/api/v1/assignments/00000000-0000-0000-0000-000000000000/route", headers=h), 404, "not_found")


# ------------------------------------------------------------------ the whole set


def test_whole_set_goes_out_in_one_action_then_nothing_is_missing(api: TestClient, city: Any) -> None:
    h = hdr(api, city)
    iid = call(api, h)
    rr = recs(api, h, iid)
    assert rr["required"] == {"patrol_car": 2}
    best = [u["unit_id"] for u in rr["units"] if u["kind"] == "patrol_car" and u["status"] == "available"][:2]
    r = api.post(f"/api/v1/incidents/{iid}/dispatch-set", headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["missing"] == {"patrol_car": 2} and out["still_missing"] == {} and out["refused"] == []
    assert sorted(s["assignment"]["unit_id"] for s in out["sent"]) == sorted(best)  # the two shortest ETAs
    for s in out["sent"]:
        assert s["kind"] == "patrol_car" and s["assignment"]["eta_seconds"] > 0
        assert s["assignment"]["route_metres"] > 0 and s["assignment"]["travel_mode"] == "car"
    assert count(city, "SELECT count(*) FROM assignments WHERE incident_id=:i AND route_geojson IS NOT NULL",
                 i=iid) == 2
    err(api.post(f"/api/v1/incidents/{iid}/dispatch-set", headers=h), 409, "nothing_missing")
    assert count(city, "SELECT count(*) FROM assignments WHERE incident_id=:i", i=iid) == 2


def test_a_unit_taken_meanwhile_is_reported_and_the_others_go_out(api: TestClient, city: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    h = hdr(api, city)
    iid = call(api, h)
    other = call(api, h, ONE_CAR, EAST)
    real = assignments_svc.dispatch_unit
    taken: list[str] = []

    def racing(p: Any, incident_id: str, unit_id: str, **kw: Any) -> Any:
        if not taken:  # another dispatcher's one click takes the set's *second* unit before ours reaches it
            chosen = [u["unit_id"] for u in recs(api, h, iid)["units"] if u["kind"] == "patrol_car"]
            victim = next(u for u in chosen if u != unit_id)
            real(p, other, victim, uow=dispatch_uow(city[0]))
            taken.append(victim)
        return real(p, incident_id, unit_id, **kw)

    monkeypatch.setattr(dispatch_sets.assignments, "dispatch_unit", racing)
    r = api.post(f"/api/v1/incidents/{iid}/dispatch-set", headers=h)
    assert r.status_code == 200, r.text
    out = r.json()
    assert len(out["sent"]) == 1 and out["still_missing"] == {"patrol_car": 1}
    assert [(x["unit_id"], x["code"]) for x in out["refused"]] == [(taken[0], "unit_unavailable")]
    # nothing half-assigned: the taken unit is only on the other incident, with its own status
    assert count(city, "SELECT count(*) FROM assignments WHERE unit_id=:u", u=taken[0]) == 1
    assert count(city, "SELECT count(*) FROM assignments WHERE unit_id=:u AND incident_id=:i",
                 u=taken[0], i=other) == 1
    assert count(city, "SELECT count(*) FROM units WHERE id=:u AND incident_id=:i", u=taken[0], i=other) == 1
    assert count(city, "SELECT count(*) FROM assignments WHERE incident_id=:i", i=iid) == 1
    monkeypatch.setattr(dispatch_sets.assignments, "dispatch_unit", real)
    # "send the next best" fills the gap with a third patrol car; then the set is complete
    nxt = api.post(f"/api/v1/incidents/{iid}/dispatch-next", headers=h)
    assert nxt.status_code == 200, nxt.text
    assert nxt.json()["kind"] == "patrol_car" and nxt.json()["assignment"]["unit_id"] not in (
        taken[0], out["sent"][0]["assignment"]["unit_id"])
    assert nxt.json()["assignment"]["eta_seconds"] > 0
    err(api.post(f"/api/v1/incidents/{iid}/dispatch-set", headers=h), 409, "nothing_missing")


def test_concurrent_sets_never_share_a_unit(api: TestClient, city: Any) -> None:
    """Two dispatchers send the sets of two calls at the same spot at once: both want the same nearest
    patrol cars. Each unit goes to one incident only; every claimed unit is on exactly one assignment."""
    h = hdr(api, city)
    a, b = call(api, h), call(api, h, at=(CENTRE[0] + 0.0002, CENTRE[1]))
    outs: dict[str, dict[str, Any]] = {}
    barrier = threading.Barrier(2)

    def go(iid: str) -> None:
        barrier.wait()
        r = api.post(f"/api/v1/incidents/{iid}/dispatch-set", headers=h)
        assert r.status_code == 200, r.text
        outs[iid] = r.json()

    ts = [threading.Thread(target=go, args=(i,)) for i in (a, b)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    sent = [s["assignment"]["unit_id"] for o in outs.values() for s in o["sent"]]
    assert len(sent) == len(set(sent)) >= 2
    for o in outs.values():
        assert len(o["sent"]) + len(o["refused"]) == 2
        assert all(x["code"] == "unit_unavailable" and x["unit_id"] in sent for x in o["refused"])
    assert count(city, "SELECT count(*) FROM (SELECT unit_id FROM assignments WHERE active=1 GROUP BY unit_id "
                 "HAVING count(*) > 1) AS d") == 0
    assert count(city, "SELECT count(*) FROM assignments WHERE incident_id IN (:a, :b)", a=a, b=b) == len(sent)


def test_next_best_after_a_stand_down_and_none_left(api: TestClient, city: Any) -> None:
    h = hdr(api, city)
    iid = call(api, h, ONE_CAR)
    first = api.post(f"/api/v1/incidents/{iid}/dispatch-set", headers=h).json()["sent"][0]["assignment"]["unit_id"]
    # the unit is stood down before arrival (a reason given, as the stand-down rules ask)
    r = api.post(f"/api/v1/units/{first}/status", json={"status": "available", "note": "车辆故障",
                                                        "reason": "车辆故障"}, headers=h)
    assert r.status_code == 200, r.text
    nxt = api.post(f"/api/v1/incidents/{iid}/dispatch-next", headers=h)
    assert nxt.status_code == 200, nxt.text
    assert nxt.json()["assignment"]["unit_id"] != first  # never the unit that stood down
    with city[0].engine.begin() as conn:
        conn.execute(text("UPDATE units SET status='off_duty' WHERE status='available'"))
    err(api.post(f"/api/v1/incidents/{iid}/dispatch-next", headers=h), 409, "no_unit_available")
    short = call(api, h)
    err(api.post(f"/api/v1/incidents/{short}/dispatch-set", headers=h), 409, "no_unit_available")
    assert count(city, "SELECT count(*) FROM assignments WHERE incident_id=:i", i=short) == 0


# ------------------------------------------------------------------ closing short of the set


def _alerts(api: TestClient, h: dict[str, str], iid: str) -> list[dict[str, Any]]:
    return [a for a in api.get("/api/v1/board", headers=h).json()["alerts"]
            if a["kind"] == "closed_short" and a["incident_id"] == iid]


def test_closing_short_of_the_set_warns_the_board(api: TestClient, city: Any) -> None:
    h = hdr(api, city)
    iid = call(api, h)
    unit = next(u["unit_id"] for u in recs(api, h, iid)["units"] if u["kind"] == "patrol_car")
    assert api.post(f"/api/v1/incidents/{iid}/dispatch", json={"unit_id": unit}, headers=h).status_code == 200
    walk(api, h, unit, ("acknowledged", "en_route", "on_scene", "cleared"), city)
    assert api.post(f"/api/v1/units/{unit}/feedback", json={"text": "已处理"}, headers=h).status_code == 204
    inc = detail(api, h, iid)
    assert inc["status"] == "closed"
    ev = [e for e in inc["timeline"] if e["kind"] == "closed_short"]
    assert len(ev) == 1 and ev[0]["detail"]["arrived_n"] == 1 and ev[0]["detail"]["required_n"] == 2
    al = _alerts(api, h, iid)
    assert len(al) == 1 and al[0]["detail"]["short"] == {"patrol_car": 1}
    assert "1 / 应到 2" in al[0]["message"]


def test_a_complete_set_closes_without_warning(api: TestClient, city: Any) -> None:
    h = hdr(api, city)
    iid = call(api, h)
    sent = [s["assignment"]["unit_id"] for s in api.post(f"/api/v1/incidents/{iid}/dispatch-set",
                                                         headers=h).json()["sent"]]
    assert len(sent) == 2
    for u in sent:
        walk(api, h, u, ("acknowledged", "en_route", "on_scene", "cleared"), city)
    for u in sent:
        assert api.post(f"/api/v1/units/{u}/feedback", json={"text": "已处理"}, headers=h).status_code == 204
    inc = detail(api, h, iid)
    assert inc["status"] == "closed" and not [e for e in inc["timeline"] if e["kind"] == "closed_short"]
    assert _alerts(api, h, iid) == []


# ------------------------------------------------------------------ call handling types


def test_unknown_handling_is_refused_at_intake_and_nothing_stored(api: TestClient, city: Any) -> None:
    h = hdr(api, city, "calltaker")
    r = api.post("/api/v1/calls", json={"type_code": "120100", "lon": CENTRE[0], "lat": CENTRE[1],
                                        "handling": "ignore"}, headers=h)
    err(r, 422, "unknown_handling")
    assert count(city, "SELECT count(*) FROM incidents") == 0


def test_consultation_gets_no_units_unless_overridden_and_never_a_fire_engine(api: TestClient, city: Any) -> None:
    ct, h = hdr(api, city, "calltaker"), hdr(api, city)
    iid = call(api, ct, "040100", handling="consultation")  # a fire type, yet the caller only asks
    inc = detail(api, h, iid)
    assert inc["handling"] == "consultation"
    rr = recs(api, h, iid)
    assert rr["units"] == [] and rr["withheld"]
    units = recs(api, h, iid, override="true")["units"]
    car = next(u["unit_id"] for u in units if u["kind"] == "patrol_car")
    engine = next(u["unit_id"] for u in units if u["kind"] == "fire_engine")
    err(api.post(f"/api/v1/incidents/{iid}/dispatch", json={"unit_id": car}, headers=h), 409, "handling_no_units")
    err(api.post(f"/api/v1/incidents/{iid}/dispatch-set", headers=h), 409, "handling_no_units")
    err(api.post(f"/api/v1/incidents/{iid}/dispatch-next", headers=h), 409, "handling_no_units")
    err(api.post(f"/api/v1/incidents/{iid}/dispatch", json={"unit_id": engine, "override_reason": "现场有烟"},
                 headers=h), 409, "handling_no_fire_engine")
    assert count(city, "SELECT count(*) FROM assignments WHERE incident_id=:i", i=iid) == 0
    assert count(city, "SELECT count(*) FROM units WHERE id=:u AND status='available'", u=engine) == 1
    ok = api.post(f"/api/v1/incidents/{iid}/dispatch", json={"unit_id": car, "override_reason": "来电者情绪激动"},
                  headers=h)
    assert ok.status_code == 200, ok.text
    assert count(city, "SELECT count(*) FROM audit_log WHERE action='handling_override' AND object_id=:i "
                 "AND reason='来电者情绪激动'", i=iid) == 1


def test_transfer_to_12345_is_recorded_with_target_and_outcome_then_closes(api: TestClient, city: Any) -> None:
    ct = hdr(api, city, "calltaker")
    iid = call(api, ct, "110100")
    r = api.post(f"/api/v1/incidents/{iid}/handling", json={"handling": "transfer_12345", "reason": "噪声扰民投诉"},
                 headers=ct)
    assert r.status_code == 200, r.text
    assert r.json()["handling"] == "transfer_12345"
    inc = detail(api, ct, iid)
    [t] = inc["transfers"]
    assert t["target_phone"] == "12345" and t["outcome"] is None
    assert recs(api, hdr(api, city), iid)["units"] == []
    err(api.post(f"/api/v1/incidents/{iid}/close", json={"reason": "已告知"}, headers=ct), 409, "transfer_pending")
    o = api.post(f"/api/v1/incidents/{iid}/transfers/{t['id']}/outcome", json={"outcome": "refused",
                                                                              "note": "12345 占线"}, headers=ct)
    assert o.status_code == 200, o.text
    c = api.post(f"/api/v1/incidents/{iid}/close", json={"reason": "已告知来电人直接拨打 12345"}, headers=ct)
    assert c.status_code == 200, c.text
    assert c.json()["status"] == "closed" and c.json()["disposition"] == "transfer_12345"
    kinds = [e["kind"] for e in detail(api, ct, iid)["timeline"]]
    assert max(kinds.index("handling_set"), kinds.index("transfer_requested")) < kinds.index("transfer_refused") \
        < kinds.index("closed")


def test_transfer_to_12345_chosen_at_intake_is_recorded(api: TestClient, city: Any) -> None:
    ct = hdr(api, city, "calltaker")
    iid = call(api, ct, "110100", handling="transfer_12345")
    inc = detail(api, ct, iid)
    assert inc["handling"] == "transfer_12345"
    [t] = inc["transfers"]
    assert t["target_phone"] == "12345" and t["outcome"] is None
    assert [e["kind"] for e in inc["timeline"]] == ["received", "transfer_requested", "handling_set"]
    ok = api.post(f"/api/v1/incidents/{iid}/transfers/{t['id']}/outcome", json={"outcome": "accepted"}, headers=ct)
    assert ok.status_code == 200, ok.text
    inc = detail(api, ct, iid)
    assert inc["status"] == "closed" and inc["disposition"] == "transferred" and inc["assignments"] == []


def test_transfer_to_another_agency_needs_its_target(api: TestClient, city: Any) -> None:
    ct = hdr(api, city, "calltaker")
    iid = call(api, ct, "110100")
    err(api.post(f"/api/v1/incidents/{iid}/handling", json={"handling": "transfer_agency", "reason": "属城管"},
                 headers=ct), 422, "invalid_target")
    assert detail(api, ct, iid)["handling"] is None
    r = api.post(f"/api/v1/incidents/{iid}/handling", json={
        "handling": "transfer_agency", "reason": "占道经营属城管", "target_name": "区城管局",
        "target_phone": "028-12319"}, headers=ct)
    assert r.status_code == 200, r.text
    t = detail(api, ct, iid)["transfers"][0]
    ok = api.post(f"/api/v1/incidents/{iid}/transfers/{t['id']}/outcome", json={"outcome": "accepted"}, headers=ct)
    assert ok.status_code == 200 and detail(api, ct, iid)["status"] == "closed"


def test_duplicate_and_handling_rules(api: TestClient, city: Any) -> None:
    ct, h = hdr(api, city, "calltaker"), hdr(api, city)
    first = call(api, ct, ONE_CAR)
    dup = call(api, ct, ONE_CAR, handling="duplicate")
    err(api.post(f"/api/v1/incidents/{dup}/handling", json={"handling": "spam", "reason": "x"}, headers=ct),
        422, "unknown_handling")
    err(api.post(f"/api/v1/incidents/{first}/close", json={"reason": "x"}, headers=ct), 409, "handling_required")
    # back to an ordinary call: recommendations come back; then units committed refuse a no-unit handling
    r = api.post(f"/api/v1/incidents/{dup}/handling", json={"handling": "dispatch", "reason": "非重复，另一处"},
                 headers=ct)
    assert r.status_code == 200 and r.json()["handling"] is None
    assert recs(api, h, dup)["units"] and recs(api, h, dup)["withheld"] is None
    assert api.post(f"/api/v1/incidents/{dup}/dispatch-set", headers=h).status_code == 200
    err(api.post(f"/api/v1/incidents/{dup}/handling", json={"handling": "duplicate", "reason": "x"}, headers=ct),
        409, "units_committed")
    # a duplicate closes without units, with its reason; the closed call takes no more handling changes
    r = api.post(f"/api/v1/incidents/{first}/handling", json={"handling": "duplicate", "reason": "同一事件",
                                                              "duplicate_of": dup}, headers=ct)
    assert r.status_code == 200, r.text
    c = api.post(f"/api/v1/incidents/{first}/close", json={"reason": "重复报警"}, headers=ct)
    assert c.status_code == 200 and c.json()["disposition"] == "duplicate"
    err(api.post(f"/api/v1/incidents/{first}/close", json={"reason": "again"}, headers=ct), 409, "not_closable")
    assert api.post(f"/api/v1/incidents/{first}/close", json={"reason": ""}, headers=ct).status_code == 422
    assert count(city, "SELECT count(*) FROM audit_log WHERE action='incident_closed' AND object_id=:i",
                 i=first) == 1
