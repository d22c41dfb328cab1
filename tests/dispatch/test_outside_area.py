"""A call is never refused for its location (issue #11 item 5), on the Chengdu demo city, both databases:
a call 50 km outside the served area is stored (201) and flagged ``outside_area``, shows on the board, gets
no recommendations (409 ``outside_area``), can be located by hand (then recommended) or transferred to a
neighbouring agency (timeline + audit; accepted → closed, disposition "transferred"). The same for the SMS
location link and the alarm buttons over MQTT. Only malformed input gets a 4xx."""

from __future__ import annotations

import json
import threading
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.dispatch.jobs import handle_mqtt
from jingwu.dispatch.wiring import dispatch_uow
from jingwu.platform import services
from jingwu.platform.container import Container
from jingwu.routing.geodesy import haversine_m
from support import both_databases, login

pytestmark = both_databases

CENTRE = (104.0657, 30.6598)  # 人民南路, inside the demo's served area
OUT = (104.0657 + 0.53, 30.6598)  # due east of CENTRE, about 50 km away: far outside the demo extract


def hdr(api: TestClient, city: Any, user: str) -> dict[str, str]:
    return login(api, user, city[1][user])


def row(c: Container, incident_id: str) -> dict[str, Any]:
    with c.engine.connect() as conn:
        r = conn.execute(text("SELECT i.*, a.kind AS agency_kind, a.path AS agency_path FROM incidents i "
                              "JOIN agencies a ON a.id = i.agency_id WHERE i.id = :i"), {"i": incident_id}).one()
    return dict(r._mapping)


def audit_actions(c: Container, incident_id: str) -> list[str]:
    with c.engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT action FROM audit_log WHERE object_id = :i ORDER BY seq"),
                                           {"i": incident_id})]


def test_a_call_50_km_outside_is_stored_flagged_and_shown_then_located_by_hand(api: TestClient, city: Any) -> None:
    c: Container = city[0]
    assert 49_000 < haversine_m(*CENTRE, *OUT) < 52_000
    h = hdr(api, city, "dispatcher")
    r = api.post("/api/v1/calls", json={"type_code": "020200", "lon": OUT[0], "lat": OUT[1], "address": "邻市某路"},
                 headers=h)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["location_status"] == "outside_area"
    stored = row(c, body["incident_id"])
    # stored as reported, never snapped, owned by the city bureau of the call-taker (the demo's city bureau)
    assert stored["location_status"] == "outside_area" and stored["lon"] == OUT[0] and stored["lat"] == OUT[1]
    assert stored["snapped_lon"] is None and stored["town_id"] is None and stored["agency_kind"] == "city_bureau"
    # on the board, with its flag, but not on the map
    board = api.get("/api/v1/board", headers=h).json()
    mine = [i for i in board["incidents"] if i["id"] == body["incident_id"]]
    assert len(mine) == 1 and mine[0]["location_status"] == "outside_area" and mine[0]["lon"] is None
    # no recommendations: a clear 409 saying what to do
    rec = api.get(f"/api/v1/incidents/{body['incident_id']}/recommendations", headers=h)
    assert rec.status_code == 409 and rec.json()["error"]["code"] == "outside_area"
    assert "transfer" in rec.json()["error"]["message"]
    # the call-taker places it inside by hand: located, snapped, a station's, recommendable
    loc = api.post(f"/api/v1/incidents/{body['incident_id']}/location", json={"lon": CENTRE[0], "lat": CENTRE[1],
                                                                              "note": "caller corrected"},
                   headers=hdr(api, city, "calltaker"))
    assert loc.status_code == 200 and loc.json()["location_status"] == "located", loc.text
    after = row(c, body["incident_id"])
    assert after["location_status"] == "located" and after["agency_kind"] == "station"
    assert haversine_m(after["snapped_lon"], after["snapped_lat"], *CENTRE) < 500
    rec = api.get(f"/api/v1/incidents/{body['incident_id']}/recommendations", headers=h)
    assert rec.status_code == 200 and rec.json()["units"]
    inc = api.get(f"/api/v1/incidents/{body['incident_id']}", headers=h).json()
    assert inc["location_status"] == "located"
    assert [e["kind"] for e in inc["timeline"]] == ["received", "located_manually"]
    assert inc["timeline"][0]["detail"]["location_status"] == "outside_area"
    assert audit_actions(c, body["incident_id"]) == ["call_received", "incident_located"]


def test_located_by_hand_outside_again_stays_flagged(api: TestClient, city: Any) -> None:
    h = hdr(api, city, "calltaker")
    iid = api.post("/api/v1/calls", json={"type_code": "020200", "address": "不详"}, headers=h).json()["incident_id"]
    assert row(city[0], iid)["location_status"] == "unlocated"
    r = api.post(f"/api/v1/incidents/{iid}/location", json={"lon": OUT[0], "lat": OUT[1]}, headers=h)
    assert r.status_code == 200 and r.json()["location_status"] == "outside_area"
    bad = api.post(f"/api/v1/incidents/{iid}/location", json={"lon": 200, "lat": 30}, headers=h)
    assert bad.status_code == 422


def test_unlocated_and_outside_calls_need_no_position_only_well_formed_input(api: TestClient, city: Any) -> None:
    h = hdr(api, city, "calltaker")
    none = api.post("/api/v1/calls", json={"type_code": "020200"}, headers=h)
    addr = api.post("/api/v1/calls", json={"type_code": "020200", "address": "报警人说不清的位置"}, headers=h)
    beijing = api.post("/api/v1/calls", json={"type_code": "020200", "lon": 116.40, "lat": 39.90}, headers=h)
    assert [x.status_code for x in (none, addr, beijing)] == [201, 201, 201]
    assert [x.json()["location_status"] for x in (none, addr, beijing)] == ["unlocated", "unlocated", "outside_area"]
    for bad in ({"type_code": "020200", "lon": 30.66, "lat": 104.06}, {"type_code": "999999"},
                {"type_code": "020200", "lon": 104.0}):
        assert api.post("/api/v1/calls", json=bad, headers=h).status_code == 422
    assert api.post("/api/v1/calls", content=b"{not json", headers={**h, "Content-Type": "application/json"}
                    ).status_code == 422


def test_transfer_to_an_outside_agency_refused_then_accepted_closes_as_transferred(api: TestClient, city: Any) -> None:
    c: Container = city[0]
    h = hdr(api, city, "calltaker")
    iid = api.post("/api/v1/calls", json={"type_code": "030200", "lon": OUT[0], "lat": OUT[1]},
                   headers=h).json()["incident_id"]
    # malformed transfer requests
    assert api.post(f"/api/v1/incidents/{iid}/transfers", json={"reason": "x"}, headers=h
                    ).json()["error"]["code"] == "invalid_target"
    assert api.post(f"/api/v1/incidents/{iid}/transfers", json={"reason": "x", "target_name": "资阳市公安局110"},
                    headers=h).json()["error"]["code"] == "missing_phone"
    assert api.post(f"/api/v1/incidents/{iid}/transfers", json={"reason": "x", "target_name": "A", "target_phone": "1"},
                    headers=hdr(api, city, "officer")).status_code == 403
    target = {"target_name": "资阳市公安局110指挥中心", "target_phone": "028-26000110", "reason": "辖区外：资阳境内"}
    t1 = api.post(f"/api/v1/incidents/{iid}/transfers", json=target, headers=h)
    assert t1.status_code == 201, t1.text
    assert t1.json()["outcome"] is None and t1.json()["requested_by"] == "calltaker"
    again = api.post(f"/api/v1/incidents/{iid}/transfers", json=target, headers=h)
    assert again.status_code == 409 and again.json()["error"]["code"] == "transfer_pending"
    board = api.get("/api/v1/board", headers=h).json()
    pending = [i["transfer"] for i in board["incidents"] if i["id"] == iid]
    assert pending and pending[0]["id"] == t1.json()["id"] and pending[0]["target_phone"] == "028-26000110"
    no = api.post(f"/api/v1/incidents/{iid}/transfers/{t1.json()['id']}/outcome", json={"outcome": "refused",
                                                                                      "note": "不属其辖区"}, headers=h)
    assert no.status_code == 200 and no.json()["outcome"] == "refused"
    assert row(c, iid)["status"] == "open"
    assert api.post(f"/api/v1/incidents/{iid}/transfers/{t1.json()['id']}/outcome", json={"outcome": "accepted"},
                    headers=h).json()["error"]["code"] == "transfer_decided"
    t2 = api.post(f"/api/v1/incidents/{iid}/transfers", json={**target, "target_name": "简阳市公安局"},
                  headers=h).json()
    assert api.post(f"/api/v1/incidents/{iid}/transfers/{t2['id']}/outcome", json={"outcome": "maybe"},
                    headers=h).json()["error"]["code"] == "unknown_outcome"
    ok = api.post(f"/api/v1/incidents/{iid}/transfers/{t2['id']}/outcome", json={"outcome": "accepted"}, headers=h)
    assert ok.status_code == 200 and ok.json()["outcome_by"] == "calltaker"
    stored = row(c, iid)
    assert stored["status"] == "closed" and stored["disposition"] == "transferred" and stored["closed_at"] is not None
    inc = api.get(f"/api/v1/incidents/{iid}", headers=h).json()
    assert [e["kind"] for e in inc["timeline"]] == ["received", "transfer_requested", "transfer_refused",
                                                    "transfer_requested", "transfer_accepted", "closed"]
    assert [t["outcome"] for t in inc["transfers"]] == ["refused", "accepted"]
    assert audit_actions(c, iid) == ["call_received", "transfer_requested", "transfer_outcome",
                                     "transfer_requested", "transfer_outcome"]
    # a closed incident is transferred no more
    assert api.post(f"/api/v1/incidents/{iid}/transfers", json=target, headers=h).status_code == 409


def test_transfer_to_a_neighbouring_city_of_this_deployment_is_decided_by_its_call_taker(api: TestClient,
                                                                                         city: Any) -> None:
    c: Container = city[0]
    nid = services.create_agency(services.CreateAgency("512000-PSB", "资阳市公安局", "city_bureau"), uow=c.uow(),
                                 actor=None)
    services.create_user(services.CreateUser("zy_calltaker", "资阳接警", "pw-zy-123456", "512000-PSB",
                                             ("call_taker",)), uow=c.uow(), actor=None)
    h = hdr(api, city, "calltaker")
    iid = api.post("/api/v1/calls", json={"type_code": "030200", "lon": OUT[0], "lat": OUT[1]},
                   headers=h).json()["incident_id"]
    board = api.get("/api/v1/board", headers=h).json()
    assert nid in [x["id"] for x in board["transfer_targets"]]
    t = api.post(f"/api/v1/incidents/{iid}/transfers", json={"target_agency_id": nid, "reason": "资阳境内"},
                 headers=h).json()
    assert t["target_agency_id"] == nid
    zy = login(api, "zy_calltaker", "pw-zy-123456")
    # the neighbour cannot read the incident (not in its scope) but answers the transfer addressed to it
    assert api.get(f"/api/v1/incidents/{iid}", headers=zy).status_code == 403
    r = api.post(f"/api/v1/incidents/{iid}/transfers/{t['id']}/outcome", json={"outcome": "accepted"}, headers=zy)
    assert r.status_code == 200, r.text
    assert row(c, iid)["disposition"] == "transferred"


def test_sms_link_reporting_a_position_outside_stores_and_flags_it(api: TestClient, city: Any) -> None:
    c: Container = city[0]
    h = hdr(api, city, "calltaker")
    iid = api.post("/api/v1/calls", json={"type_code": "020200", "address": "说不清"}, headers=h).json()["incident_id"]
    url = api.post(f"/api/v1/incidents/{iid}/location-link", headers=h).json()["url"]
    token = url.rsplit("/", 1)[1]
    r = api.post(f"/api/v1/public/location/{token}", json={"lon": OUT[0], "lat": OUT[1], "accuracy_m": 20})
    assert r.status_code == 204
    stored = row(c, iid)
    assert stored["location_status"] == "outside_area" and stored["lon"] == OUT[0] and stored["snapped_lon"] is None
    assert stored["channel"] == "sms_link" and stored["agency_kind"] == "city_bureau"
    assert "location_shared" in audit_actions(c, iid)


def test_an_alarm_button_outside_the_area_over_mqtt_is_stored_and_flagged(city: Any) -> None:
    c: Container = city[0]
    with dispatch_uow(c) as uow:
        station = next(a for a in uow.agencies.in_subtree("/") if a.kind == "station")
        # a button left outside after the served network changed (registration places it where it is)
        uow.devices.add(code="btn-out-1", name="邻市路口报警柱", lon=OUT[0], lat=OUT[1], agency_id=station.id,
                        key_hash="0" * 64, heartbeat_seconds=60, at=uow.clock.now())
        uow.commit()
    assert handle_mqtt(c, "jingwu/alarm/btn-out-1", json.dumps({"event_id": "e1"}).encode()) == "accepted"
    assert handle_mqtt(c, "jingwu/alarm/btn-out-1", json.dumps({"event_id": "e1"}).encode()) == "duplicate"
    with c.engine.connect() as conn:
        rows = conn.execute(text("SELECT i.location_status, i.channel, a.kind FROM incidents i JOIN agencies a "
                                 "ON a.id = i.agency_id WHERE i.device_id IS NOT NULL")).all()
    assert [tuple(r) for r in rows] == [("outside_area", "alarm", "city_bureau")]  # idempotent retry: one


def test_accepted_calls_are_never_lost(api: TestClient, city: Any) -> None:
    """Concurrent calls inside, outside and without a position: every 201 is stored and on the board."""
    c: Container = city[0]
    h = hdr(api, city, "calltaker")
    bodies = [{"type_code": "020200", "lon": CENTRE[0] + k * 0.001, "lat": CENTRE[1]} for k in range(6)]
    bodies += [{"type_code": "020200", "lon": OUT[0] + k * 0.01, "lat": OUT[1]} for k in range(6)]
    bodies += [{"type_code": "020200", "address": f"地址{k}"} for k in range(6)]
    ids: list[str] = []
    codes: list[int] = []
    lock = threading.Lock()

    def go(b: dict[str, Any]) -> None:
        r = api.post("/api/v1/calls", json=b, headers=h)
        with lock:
            codes.append(r.status_code)
            ids.append(r.json()["incident_id"])

    ts = [threading.Thread(target=go, args=(b,)) for b in bodies]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert codes == [201] * len(bodies)
    with c.engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT id, location_status FROM incidents")).all())
    assert set(ids) == set(stored)
    assert sorted(stored.values()) == sorted(["located"] * 6 + ["outside_area"] * 6 + ["unlocated"] * 6)
    board = api.get("/api/v1/board", headers=h).json()
    assert set(ids) <= {i["id"] for i in board["incidents"]}
