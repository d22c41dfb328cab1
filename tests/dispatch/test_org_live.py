"""Organisation changes reach dispatch and the Safety Index without a restart (on the Chengdu demo city,
SQLite and PostgreSQL): a unit created through the admin API is recommended by the next recommendation, a
deactivated one is neither recommended nor dispatched; a unit with history cannot be deleted; a
deactivated station gets no new incidents by location and a deactivated town places no new calls, once
the ``org_changed`` event has dropped the cached placement helper; alarm-device administration."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.dispatch.wiring import geo
from jingwu.platform.container import Container
from jingwu.safety_index.jobs import TOWN_LOCATORS, _town_locator
from support import both_databases, login

pytestmark = both_databases

A = "/api/v1/admin"
EAST = (104.1200, 30.6800)
CENTRE = (104.0657, 30.6598)


def wait_for(cond: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


def call(api: TestClient, h: dict[str, str], at: tuple[float, float]) -> dict:  # type: ignore[type-arg]
    r = api.post("/api/v1/calls", json={"channel": "phone", "type_code": "020200", "lon": at[0], "lat": at[1],
                                         "accuracy_m": 20}, headers=h)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def recommended(api: TestClient, h: dict[str, str], incident_id: str) -> list[dict]:  # type: ignore[type-arg]
    r = api.get(f"/api/v1/incidents/{incident_id}/recommendations?limit=100", headers=h)
    assert r.status_code == 200, r.text
    return r.json()["units"]  # type: ignore[no-any-return]


def test_new_unit_is_recommended_at_once_and_a_deactivated_one_never(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    ha, hd = login(api, "admin", city[1]["admin"]), login(api, "dispatcher", city[1]["dispatcher"])
    inc = call(api, hd, EAST)
    before = {u["call_sign"] for u in recommended(api, hd, inc["incident_id"])}
    geo(c)  # the placement helper is built and cached before the unit exists
    station = inc["agency_id"]
    r = api.post(f"{A}/units", headers=ha, json={"call_sign": "新警01", "kind": "patrol_car", "station_id": station,
                                                  "lon": EAST[0], "lat": EAST[1]})
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    recs = recommended(api, hd, inc["incident_id"])
    assert "新警01" not in before
    # it stands at the incident: the smallest road ETA of all, so first
    assert recs[0]["call_sign"] == "新警01" and recs[0]["eta_seconds"] == min(u["eta_seconds"] for u in recs)

    assert "新警01" in {u["call_sign"] for u in api.get("/api/v1/board", headers=hd).json()["units"]}
    assert api.post(f"{A}/units/{uid}/deactivate", headers=ha).status_code == 200
    assert "新警01" not in {u["call_sign"] for u in recommended(api, hd, inc["incident_id"])}
    assert "新警01" not in {u["call_sign"] for u in api.get("/api/v1/board", headers=hd).json()["units"]}
    r = api.post(f"/api/v1/incidents/{inc['incident_id']}/dispatch", json={"unit_id": uid}, headers=hd)
    assert r.status_code == 409 and r.json()["error"]["code"] == "unit_inactive"
    with c.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM assignments WHERE unit_id=:u"), {"u": uid}).scalar_one() == 0

    # back in service: dispatched; then it has history and cannot be deleted, nor deactivated while busy
    assert api.post(f"{A}/units/{uid}/activate", headers=ha).json()["active"] is True
    r = api.post(f"/api/v1/incidents/{inc['incident_id']}/dispatch", json={"unit_id": uid}, headers=hd)
    assert r.status_code == 200, r.text
    r = api.post(f"{A}/units/{uid}/deactivate", headers=ha)
    assert r.status_code == 409 and r.json()["error"]["code"] == "unit_busy"
    r = api.delete(f"{A}/units/{uid}", headers=ha)
    assert r.status_code == 409 and r.json()["error"]["code"] == "in_use"
    assert "assignments" in r.json()["error"]["message"]
    with c.engine.connect() as conn:
        assert conn.execute(text("SELECT active FROM units WHERE id=:u"), {"u": uid}).scalar_one() in (True, 1)


def test_deactivated_station_and_town_receive_no_new_calls(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    ha, hd = login(api, "admin", city[1]["admin"]), login(api, "dispatcher", city[1]["dispatcher"])
    first = call(api, hd, CENTRE)
    station, town = first["agency_id"], first["town_id"]
    assert town is not None
    cached = geo(c)
    assert cached.station_at(*CENTRE) == station
    _town_locator(c)
    locators = c.get(TOWN_LOCATORS)
    assert locators  # built and cached

    r = api.post(f"{A}/agencies/{station}/deactivate", headers=ha)
    assert r.status_code == 200 and r.json()["active"] is False
    wait_for(lambda: geo(c) is not cached, "the org_changed event drops dispatch's placement helper")
    second = call(api, hd, CENTRE)
    assert second["agency_id"] != station
    # the station it now goes to is the nearest active jurisdiction: an independent check over the stations
    with c.engine.connect() as conn:
        active = {r[0] for r in conn.execute(text("SELECT id FROM agencies WHERE kind='station' AND active=:t"),
                                             {"t": True})}
    assert second["agency_id"] in active

    r = api.post(f"{A}/towns/{town}/deactivate", headers=ha)
    assert r.status_code == 200
    wait_for(lambda: c.get(TOWN_LOCATORS) is not locators, "the org_changed event drops the Safety Index town locator")
    wait_for(lambda: geo(c).town_at(*CENTRE) is None or geo(c).town_at(*CENTRE).id != town,  # type: ignore[union-attr]
             "the rebuilt placement helper leaves the inactive town out")
    third = call(api, hd, CENTRE)
    assert third["town_id"] != town
    # the Safety Index places an event without a town at that point elsewhere (or nowhere) now
    assert _town_locator(c).locate(np.array([CENTRE[0]]), np.array([CENTRE[1]]))[0] != town


def test_alarm_device_administration(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    ha = login(api, "admin", city[1]["admin"])
    station = api.get(f"{A}/agencies", headers=ha).json()
    st = next(a for a in station if a["kind"] == "station")
    r = api.post(f"{A}/devices", headers=ha, json={"code": "BTN-01", "name": "广场报警柱", "lon": CENTRE[0],
                                                    "lat": CENTRE[1], "agency_id": st["id"]})
    assert r.status_code == 201, r.text
    did, key = r.json()["id"], r.json()["key"]
    r = api.patch(f"{A}/devices/{did}", headers=ha, json={"name": "天府广场报警柱", "heartbeat_seconds": 120})
    assert r.status_code == 200 and r.json()["name"] == "天府广场报警柱" and r.json()["heartbeat_seconds"] == 120
    with c.engine.connect() as conn:
        det = conn.execute(text("SELECT detail FROM audit_log WHERE action='device_updated'")).scalar_one()
    assert '"heartbeat_seconds":{"after":120,"before":60}' in det
    bad = api.patch(f"{A}/devices/{did}", headers=ha, json={"lon": 116.40, "lat": 39.90})  # Beijing: off the network
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "outside_area"
    # a press makes an incident that refers to the device: it is in use from then on
    r = api.post("/api/v1/public/alarm-devices/BTN-01/alarm", headers={"X-Device-Key": key}, json={"event_id": "e1"})
    assert r.status_code == 201, r.text
    r = api.delete(f"{A}/devices/{did}", headers=ha)
    assert r.status_code == 409 and r.json()["error"]["code"] == "in_use"
    assert "incidents" in r.json()["error"]["message"]
    assert api.post(f"{A}/devices/{did}/deactivate", headers=ha).json()["active"] is False
    r = api.post("/api/v1/public/alarm-devices/BTN-01/alarm", headers={"X-Device-Key": key}, json={"event_id": "e2"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "device_inactive"
    # a branch-less dispatcher has no device administration
    hd = login(api, "dispatcher", city[1]["dispatcher"])
    assert api.get(f"{A}/devices", headers=hd).status_code == 403


def test_position_check_warns_far_from_the_road_network(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    ha = login(api, "admin", city[1]["admin"])
    near = api.get(f"/admin/position-check?lon={CENTRE[0]}&lat={CENTRE[1]}", headers=ha).json()
    assert near["far"] is False and near["distance_m"] < 100  # a point on 人民南路
    # 0.1° of latitude (about 11 km) north of the served extract's top edge: far from every road
    y1 = geo(city[0]).graph.bbox[3]
    far = api.get(f"/admin/position-check?lon={CENTRE[0]}&lat={y1 + 0.1}", headers=ha).json()
    assert far["far"] is True and (far["distance_m"] is None or far["distance_m"] > 10_000)
    hd = login(api, "dispatcher", city[1]["dispatcher"])
    assert api.get(f"/admin/position-check?lon={CENTRE[0]}&lat={CENTRE[1]}", headers=hd).status_code == 403
