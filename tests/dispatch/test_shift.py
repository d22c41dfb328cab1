"""Issue #12 items 1 and 2 (ADR 0018): crews (sign on / off, who may report for a unit, the board shows the
crew, the demo autopilot leaves crewed units and human-touched incidents alone) and sanity (refused positions
counted, stale positions never replace newer ones, flagged arrivals, stand-down with a reason and its alert)."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.demo import city as demo
from jingwu.demo.autopilot import Autopilot
from jingwu.dispatch.services import assignments
from jingwu.dispatch.wiring import dispatch_uow
from jingwu.platform import services
from jingwu.platform.container import Container
from jingwu.platform.domain import Principal, Role
from support import METRICS, both_databases, login

pytestmark = both_databases

EAST = (104.1200, 30.6800)


def hdr(api: TestClient, city: Any, user: str = "dispatcher") -> dict[str, str]:
    return login(api, user, city[1][user])


def extra_officer(api: TestClient, city: Any, username: str, where: str = "city") -> dict[str, str]:
    """Another patrol officer, at the city bureau (``city``) or a station's code."""
    c: Container = city[0]
    with c.uow() as uow:
        agencies = uow.agencies.in_subtree("/")
    code = demo.CITY_CODE if where == "city" else where
    assert any(a.code == code for a in agencies)
    services.create_user(services.CreateUser(username, username, "officer-pass-123456", code, ("patrol_officer",)),
                         uow=c.uow(), actor=None)
    return login(api, username, "officer-pass-123456")


def my_units(api: TestClient, officer: dict[str, str]) -> list[dict[str, Any]]:
    me = api.get("/api/v1/me", headers=officer).json()
    return [u for u in api.get("/api/v1/units", headers=officer).json() if u["agency_id"] == me["agency_id"]]


def err(r: Any) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def dispatch_to(api: TestClient, h: dict[str, str], unit_id: str, at: tuple[float, float] = EAST) -> str:
    r = api.post("/api/v1/calls", json={"channel": "phone", "type_code": "020200", "lon": at[0], "lat": at[1]},
                 headers={**h, "Idempotency-Key": f"k-{unit_id}-{at}"})
    assert r.status_code == 201, r.text
    iid = r.json()["incident_id"]
    r = api.post(f"/api/v1/incidents/{iid}/dispatch", json={"unit_id": unit_id}, headers=h)
    assert r.status_code == 200, r.text
    return str(iid)


def dispatch_with_eta(c: Container, incident_id: str, unit_id: str, eta: float) -> None:
    """Dispatch storing the routed ETA, as the recommendation-driven dispatch does."""
    with c.uow() as uow:
        root = next(a for a in uow.agencies.in_subtree("/") if a.parent_id is None)
    p = Principal("t", "dispatcher", root.id, root.path, frozenset({Role.DISPATCHER}))
    assignments.dispatch_unit(p, incident_id, unit_id, uow=dispatch_uow(c), eta_seconds=eta)


# ------------------------------------------------------------------ item 1: crews


def test_officer_signs_on_reports_and_signs_off(api: TestClient, city: Any) -> None:
    h, officer = hdr(api, city), hdr(api, city, "officer")
    u1, u2 = my_units(api, officer)[:2]
    assert api.get("/api/v1/me/crew", headers=officer).json() == {"crew": None}
    iid = dispatch_to(api, h, u1["id"])
    # not on the crew yet: the officer may not report for the unit even in their own station
    assert err(api.post(f"/api/v1/units/{u1['id']}/status", json={"status": "acknowledged"},
                        headers=officer)) == (403, "not_on_crew")
    ends = (city[0].clock.now() + timedelta(hours=8)).isoformat()
    r = api.post(f"/api/v1/units/{u1['id']}/crew", json={"shift_ends_at": ends}, headers=officer)
    assert r.status_code == 201 and r.json()["call_sign"] == u1["call_sign"]
    assert api.post(f"/api/v1/units/{u1['id']}/crew", headers=officer).status_code == 200  # again: no-op
    assert err(api.post(f"/api/v1/units/{u2['id']}/crew", headers=officer)) == (409, "on_another_crew")
    mine = api.get("/api/v1/me/crew", headers=officer).json()["crew"]
    assert mine["unit_id"] == u1["id"] and mine["members"] == ["officer"]
    assert api.post(f"/api/v1/units/{u1['id']}/status", json={"status": "acknowledged"},
                    headers=officer).status_code == 200
    # out of order: 409
    assert err(api.post(f"/api/v1/units/{u1['id']}/status", json={"status": "cleared"},
                        headers=officer)) == (409, "illegal_transition")
    board = api.get("/api/v1/board", headers=h).json()
    assert next(u for u in board["units"] if u["id"] == u1["id"])["crew"] == ["officer"]
    assert next(u for u in board["units"] if u["id"] == u2["id"])["crew"] == []
    # the officer's acknowledgement is a human touch of the incident
    with city[0].engine.connect() as conn:
        touched = conn.execute(text("SELECT human_touched_at FROM incidents WHERE id=:i"), {"i": iid}).scalar_one()
        actions = [r[0] for r in conn.execute(text(
            "SELECT action FROM audit_log WHERE object_id=:u AND action LIKE 'crew_%' ORDER BY seq"),
            {"u": u1["id"]})]
    assert touched is not None and actions == ["crew_signed_on"]
    assert api.delete(f"/api/v1/units/{u1['id']}/crew", headers=officer).status_code == 204
    assert err(api.delete(f"/api/v1/units/{u1['id']}/crew", headers=officer)) == (409, "not_on_crew")
    assert api.delete("/api/v1/units/00000000-0000-0000-0000-000000000000/crew",
                      headers=officer).status_code == 404
    assert err(api.post(f"/api/v1/units/{u1['id']}/status", json={"status": "en_route"},
                        headers=officer)) == (403, "not_on_crew")
    assert api.get("/api/v1/me/crew", headers=officer).json() == {"crew": None}
    # signed off: free to join another unit
    assert api.post(f"/api/v1/units/{u2['id']}/crew", headers=officer).status_code == 201


def test_bad_sign_ons(api: TestClient, city: Any) -> None:
    h, officer = hdr(api, city), hdr(api, city, "officer")
    u = my_units(api, officer)[0]
    now = city[0].clock.now()
    for ends in [(now - timedelta(minutes=1)).isoformat(), (now + timedelta(hours=25)).isoformat()]:
        assert err(api.post(f"/api/v1/units/{u['id']}/crew", json={"shift_ends_at": ends},
                            headers=officer)) == (422, "invalid_shift")
    # a dispatcher is not a crew member
    assert err(api.post(f"/api/v1/units/{u['id']}/crew", headers=h)) == (403, "missing_role")
    admin = hdr(api, city, "admin")
    r = api.patch(f"/api/v1/admin/units/{u['id']}", json={"active": False}, headers=admin)
    assert r.status_code == 200, r.text
    assert err(api.post(f"/api/v1/units/{u['id']}/crew", headers=officer)) == (409, "unit_inactive")
    with city[0].engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM unit_crews")).scalar_one() == 0


def test_a_shift_ends_by_itself(api: TestClient, city: Any) -> None:
    officer = hdr(api, city, "officer")
    u1, u2 = my_units(api, officer)[:2]
    ends = (city[0].clock.now() + timedelta(hours=1)).isoformat()
    assert api.post(f"/api/v1/units/{u1['id']}/crew", json={"shift_ends_at": ends}, headers=officer).status_code == 201
    city[0].clock.advance(hours=1, seconds=1)
    assert api.get("/api/v1/me/crew", headers=officer).json() == {"crew": None}
    assert api.post(f"/api/v1/units/{u2['id']}/crew", headers=officer).status_code == 201


def test_only_crew_and_the_units_dispatchers_change_its_status(api: TestClient, city: Any) -> None:
    """The issue's case: a city-level patrol officer stood down another branch's dispatched unit (200)."""
    h = hdr(api, city)
    city_officer = extra_officer(api, city, "cityofficer")
    unit = api.get("/api/v1/units", headers=h).json()[0]
    dispatch_to(api, h, unit["id"])
    for body in ({"status": "available", "reason": "x"}, {"status": "acknowledged"}):
        assert err(api.post(f"/api/v1/units/{unit['id']}/status", json=body,
                            headers=city_officer)) == (403, "not_on_crew")
    now = city[0].clock.now().isoformat()
    assert err(api.post(f"/api/v1/units/{unit['id']}/positions", json={"positions": [
        {"lon": EAST[0], "lat": EAST[1], "at": now}]}, headers=city_officer)) == (403, "not_on_crew")
    assert err(api.post(f"/api/v1/units/{unit['id']}/feedback", json={"text": "x"},
                        headers=city_officer)) == (403, "not_on_crew")
    # a dispatcher of a station cannot report for another station's unit
    me = api.get("/api/v1/me", headers=h).json()
    assert unit["agency_id"] != me["agency_id"]  # the city dispatcher is above every station: allowed
    assert api.post(f"/api/v1/units/{unit['id']}/status", json={"status": "acknowledged"},
                    headers=h).status_code == 200
    # once on the crew the city officer may report
    assert api.post(f"/api/v1/units/{unit['id']}/crew", headers=city_officer).status_code == 201
    assert api.post(f"/api/v1/units/{unit['id']}/status", json={"status": "en_route"},
                    headers=city_officer).status_code == 200
    board = api.get("/api/v1/board", headers=h).json()
    assert next(u for u in board["units"] if u["id"] == unit["id"])["crew"] == ["cityofficer"]


def test_autopilot_leaves_crewed_units_and_touched_incidents_alone(api: TestClient, city: Any) -> None:
    c: Container = city[0]
    h, officer = hdr(api, city), hdr(api, city, "officer")
    crewed = my_units(api, officer)[0]
    assert api.post(f"/api/v1/units/{crewed['id']}/crew", headers=officer).status_code == 201
    # a call taken by a person (the dispatcher) is touched; the autopilot must never dispatch it
    r = api.post("/api/v1/calls", json={"channel": "phone", "type_code": "020200", "lon": EAST[0], "lat": EAST[1]},
                 headers={**h, "Idempotency-Key": "human-call"})
    human = r.json()["incident_id"]
    with c.engine.connect() as conn:
        pos_before = conn.execute(text("SELECT position_at FROM units WHERE id=:u"), {"u": crewed["id"]}).scalar_one()
    ap = Autopilot(c, calls_per_hour=600, seed=3)
    for _ in range(int(8 * 60 / 4)):  # 8 simulated minutes
        c.clock.advance(seconds=4)
        ap.step()
    with c.engine.connect() as conn:
        crewed_asg = conn.execute(text("SELECT count(*) FROM assignments WHERE unit_id=:u"),
                                  {"u": crewed["id"]}).scalar_one()
        human_asg = conn.execute(text("SELECT count(*) FROM assignments WHERE incident_id=:i"),
                                 {"i": human}).scalar_one()
        auto = conn.execute(text("SELECT count(*) FROM assignments WHERE dispatched_by='demo-autopilot'")).scalar_one()
        untouched = conn.execute(text("SELECT count(*) FROM incidents WHERE created_by='demo-autopilot' "
                                      "AND human_touched_at IS NULL")).scalar_one()
        unit_pos = conn.execute(text("SELECT position_at FROM units WHERE id=:u"), {"u": crewed["id"]}).scalar_one()
    assert auto > 5 and untouched > 10  # the autopilot did work, and its own calls stay untouched
    assert crewed_asg == 0 and human_asg == 0 and unit_pos == pos_before
    # the officer's unit is dispatched by a person: the autopilot never moves it along the chain
    iid = dispatch_to(api, h, crewed["id"], at=(104.0657, 30.6598))
    for _ in range(30):  # 90 s: the autopilot would have acknowledged within 20 s
        c.clock.advance(seconds=3)
        ap.step()
    u = next(x for x in api.get("/api/v1/units", headers=h).json() if x["id"] == crewed["id"])
    assert u["status"] == "dispatched"
    assert next(x for x in api.get("/api/v1/board", headers=h).json()["units"] if x["id"] == crewed["id"])[
        "incident_id"] == iid
    with c.engine.connect() as conn:
        actors = {r[0] for r in conn.execute(text(
            "SELECT DISTINCT actor FROM audit_log WHERE object_id=:u"), {"u": crewed["id"]})}
    assert "demo-autopilot" not in actors


# ------------------------------------------------------------------ item 2: sanity


def test_bad_positions_are_refused_stored_and_counted(api: TestClient, city: Any) -> None:
    h = hdr(api, city)
    unit = api.get("/api/v1/units", headers=h).json()[0]["id"]
    now = city[0].clock.now()

    def post(lon: float, lat: float, at: Any) -> Any:
        return api.post(f"/api/v1/units/{unit}/positions", json={"positions": [
            {"lon": lon, "lat": lat, "at": at.isoformat()}]}, headers=h)

    assert post(104.07, 30.66, now).status_code == 202
    assert err(post(104.07, 30.66, now.replace(year=2099))) == (422, "position_in_future")
    assert err(post(0.0, 0.0, now)) == (422, "null_island")
    assert err(post(116.4, 39.9, now)) == (422, "position_outside_area")  # Beijing, far outside Chengdu
    assert post(104.071, 30.661, now + timedelta(seconds=60)).status_code == 202  # within the clock skew
    # a later real position still wins after the refused 2099 one (the unit is not frozen)
    u = api.get(f"/api/v1/units/{unit}", headers=h).json()
    assert u["lon"] == pytest.approx(104.071) and u["position_at"].startswith(str(now.year))
    # an older position never replaces the latest (ignored)
    assert post(104.075, 30.665, now - timedelta(minutes=5)).status_code == 202
    assert api.get(f"/api/v1/units/{unit}", headers=h).json()["lon"] == pytest.approx(104.071)
    rej = api.get("/api/v1/position-rejects", headers=h).json()
    assert rej["counts"] == {"position_in_future": 1, "null_island": 1, "position_outside_area": 1}
    assert rej["total"] == 3 and rej["rejects"][0]["reason"] == "position_outside_area"
    assert rej["rejects"][-1]["reported_at"].startswith("2099")
    assert err(api.get("/api/v1/position-rejects", headers=hdr(api, city, "officer"))) == (403, "missing_role")
    assert err(api.get("/api/v1/position-rejects?since=2026-01-01T00:00:00", headers=h)) == (422, "invalid_time")
    assert err(api.get("/api/v1/position-rejects?since=0001-01-01T00:00:00Z", headers=h)) == (422, "invalid_range")
    assert err(post(104.07, 30.66, now.replace(year=9999, month=12, day=31).astimezone(
        timezone(timedelta(hours=-5))))) == (422, "invalid_time")
    metrics = api.get("/metrics", headers=METRICS).text
    assert 'jingwu_position_rejects_total{reason="null_island"}' in metrics


def test_a_batch_with_one_bad_position_is_refused_whole(api: TestClient, city: Any) -> None:
    h = hdr(api, city)
    unit = api.get("/api/v1/units", headers=h).json()[1]
    now = city[0].clock.now()
    r = api.post(f"/api/v1/units/{unit['id']}/positions", json={"positions": [
        {"lon": 104.07, "lat": 30.66, "at": now.isoformat()},
        {"lon": 104.07, "lat": 30.66, "at": (now + timedelta(hours=1)).isoformat()}]}, headers=h)
    assert err(r) == (422, "position_in_future")
    after = api.get(f"/api/v1/units/{unit['id']}", headers=h).json()
    assert after["position_at"] == unit["position_at"]  # nothing of the batch applied


def test_arrival_too_soon_and_far_from_scene_is_flagged(api: TestClient, city: Any) -> None:
    h = hdr(api, city)
    r = api.post("/api/v1/calls", json={"channel": "phone", "type_code": "020200", "lon": EAST[0], "lat": EAST[1]},
                 headers={**h, "Idempotency-Key": "arrival"})
    iid = r.json()["incident_id"]
    rec = api.get(f"/api/v1/incidents/{iid}/recommendations", headers=h).json()["units"]
    far = next(x for x in rec if x["eta_seconds"] and x["eta_seconds"] > 120)
    c = city[0]
    dispatch_with_eta(c, iid, far["unit_id"], far["eta_seconds"])
    c.clock.advance(seconds=7)
    # the unit's position since the dispatch is still about 2 km from the scene
    assert api.post(f"/api/v1/units/{far['unit_id']}/positions", json={"positions": [
        {"lon": EAST[0] - 0.02, "lat": EAST[1], "at": c.clock.now().isoformat()}]}, headers=h).status_code == 202
    for st in ("acknowledged", "en_route", "on_scene"):
        assert api.post(f"/api/v1/units/{far['unit_id']}/status", json={"status": st},
                        headers=h).status_code == 200
    a = api.get(f"/api/v1/incidents/{iid}", headers=h).json()["assignments"][0]
    assert a["on_scene_at"] and sorted(a["arrival_flags"]) == ["far_from_scene", "too_soon"]
    alerts = [x for x in api.get("/api/v1/board", headers=h).json()["alerts"] if x["kind"] == "arrival_flagged"]
    assert len(alerts) == 1 and alerts[0]["incident_id"] == iid and "到场过快" in alerts[0]["message"]


def test_a_plausible_arrival_is_not_flagged(api: TestClient, city: Any) -> None:
    h = hdr(api, city)
    r = api.post("/api/v1/calls", json={"channel": "phone", "type_code": "020200", "lon": EAST[0], "lat": EAST[1]},
                 headers={**h, "Idempotency-Key": "ok-arrival"})
    iid = r.json()["incident_id"]
    rec = api.get(f"/api/v1/incidents/{iid}/recommendations", headers=h).json()["units"][0]
    c = city[0]
    dispatch_with_eta(c, iid, rec["unit_id"], 100.0)
    c.clock.advance(seconds=80)
    inc = api.get(f"/api/v1/incidents/{iid}", headers=h).json()
    assert api.post(f"/api/v1/units/{rec['unit_id']}/positions", json={"positions": [
        {"lon": inc["snapped_lon"] + 0.001, "lat": inc["snapped_lat"], "at": c.clock.now().isoformat()}]},
        headers=h).status_code == 202
    for st in ("acknowledged", "en_route", "on_scene"):
        assert api.post(f"/api/v1/units/{rec['unit_id']}/status", json={"status": st}, headers=h).status_code == 200
    a = api.get(f"/api/v1/incidents/{iid}", headers=h).json()["assignments"][0]
    assert a["arrival_flags"] == []


def test_stand_down_needs_a_reason_and_raises_an_alert(api: TestClient, city: Any) -> None:
    h = hdr(api, city)
    unit = api.get("/api/v1/units", headers=h).json()[2]["id"]
    iid = dispatch_to(api, h, unit)
    for body in ({"status": "available"}, {"status": "available", "reason": "   "}):
        assert err(api.post(f"/api/v1/units/{unit}/status", json=body, headers=h)) == (422, "missing_reason")
    inc = api.get(f"/api/v1/incidents/{iid}", headers=h).json()
    assert inc["status"] == "dispatched" and inc["assignments"][0]["active"]  # nothing half-stored
    r = api.post(f"/api/v1/units/{unit}/status", json={"status": "available", "reason": "车辆故障"}, headers=h)
    assert r.status_code == 200, r.text
    a = api.get(f"/api/v1/incidents/{iid}", headers=h).json()["assignments"][0]
    assert a["stand_down_reason"] == "车辆故障" and a["stood_down_by"] == "dispatcher" and a["cancelled_at"]
    alert = next(x for x in api.get("/api/v1/board", headers=h).json()["alerts"] if x["kind"] == "stood_down")
    assert alert["incident_id"] == iid and alert["unit_id"] == unit and alert["detail"]["reason"] == "车辆故障"
    # one-click redispatch: the next recommended unit goes out and the alert can be resolved
    nxt = api.get(f"/api/v1/incidents/{iid}/recommendations", headers=h).json()["units"][0]["unit_id"]
    assert nxt != unit
    assert api.post(f"/api/v1/incidents/{iid}/dispatch", json={"unit_id": nxt}, headers=h).status_code == 200
    assert not [x for x in api.get("/api/v1/board", headers=h).json()["alerts"] if x["kind"] == "stood_down"]
    with city[0].engine.connect() as conn:
        audit = conn.execute(text("SELECT detail FROM audit_log WHERE action='unit_status' AND object_id=:u "
                                  "ORDER BY seq DESC"), {"u": unit}).first()
    assert audit is not None and "车辆故障" in audit[0]


def test_add_events_marks_only_a_persons_incident_once(api: TestClient, city: Any) -> None:
    """Store level: human_touched_at is set by the first entry of a person, never by an automation, never moved."""
    c: Container = city[0]
    h = hdr(api, city)
    ids = [api.post("/api/v1/calls", json={"channel": "phone", "type_code": "020200", "lon": EAST[0],
                                          "lat": EAST[1] + k * 0.01},
                    headers={**h, "Idempotency-Key": f"store-{k}"}).json()["incident_id"] for k in range(2)]
    with c.engine.begin() as conn:  # as if both came from the generated stream
        conn.execute(text("UPDATE incidents SET human_touched_at = NULL"))
    t0 = c.clock.now()
    with dispatch_uow(c) as uow:
        uow.incidents.add_events([
            {"incident_id": ids[0], "at": t0, "kind": "x", "actor": "demo-autopilot"},
            {"incident_id": ids[0], "at": t0, "kind": "x", "actor": "device:A1"},
            {"incident_id": ids[0], "at": t0, "kind": "x", "actor": "rule"},
            {"incident_id": ids[1], "at": t0, "kind": "x", "actor": "dispatcher"}])
        uow.incidents.add_event(ids[1], at=t0 + timedelta(minutes=5), kind="y", actor="officer")
        uow.commit()
    with dispatch_uow(c) as uow:
        a, b = (uow.incidents.get(i) for i in ids)
    assert a is not None and b is not None
    assert a.human_touched_at is None
    assert b.human_touched_at is not None and abs((b.human_touched_at - t0).total_seconds()) < 1e-3
