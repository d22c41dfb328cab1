"""Status and feedback taps with the phone's own time ``at`` (offline queue, ADR 0024), on both databases:
the stored times are the taps' times, the receipt time is kept in the event and the audit; bad times are
refused with their codes and nothing is half-stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import text

from support import both_databases, login

pytestmark = both_databases

EAST = (104.1200, 30.6800)
CST = ZoneInfo("Asia/Shanghai")


def _dispatched(api: TestClient, city) -> tuple[dict[str, str], str, str, datetime]:  # type: ignore[no-untyped-def]
    h = login(api, "dispatcher", city[1]["dispatcher"])
    r = api.post("/api/v1/calls", json={"channel": "phone", "type_code": "020200", "lon": EAST[0], "lat": EAST[1]},
                 headers=h)
    assert r.status_code == 201, r.text
    iid = r.json()["incident_id"]
    unit = api.get(f"/api/v1/incidents/{iid}/recommendations", headers=h).json()["units"][0]["unit_id"]
    d = api.post(f"/api/v1/incidents/{iid}/dispatch", json={"unit_id": unit}, headers=h)
    assert d.status_code == 200, d.text
    return h, iid, unit, datetime.fromisoformat(d.json()["dispatched_at"]).astimezone(UTC)


def _utc(s: str) -> datetime:
    dt = datetime.fromisoformat(s)
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def test_offline_taps_keep_their_times(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h, iid, unit, t0 = _dispatched(api, city)
    city[0].clock.advance(minutes=10)  # the phone was offline; the queue is replayed now
    taps = {"acknowledged": 1, "en_route": 2, "on_scene": 6, "cleared": 9}
    for st, minute in taps.items():
        at = (t0 + timedelta(minutes=minute)).astimezone(CST).isoformat()  # +08:00 offset from the phone
        r = api.post(f"/api/v1/units/{unit}/status", json={"status": st, "at": at}, headers=h)
        assert r.status_code == 200, r.text
    fb_at = (t0 + timedelta(minutes=9, seconds=30)).isoformat()
    r = api.post(f"/api/v1/units/{unit}/feedback", json={"text": "已调解", "at": fb_at}, headers=h)
    assert r.status_code == 204, r.text
    detail = api.get(f"/api/v1/incidents/{iid}", headers=h).json()
    a = detail["assignments"][0]
    for st, minute in taps.items():
        assert abs((_utc(a[f"{st}_at"]) - (t0 + timedelta(minutes=minute))).total_seconds()) < 0.01, st
    assert abs((_utc(a["feedback_at"]) - (t0 + timedelta(minutes=9, seconds=30))).total_seconds()) < 0.01
    assert detail["status"] == "closed"
    ev = next(e for e in detail["timeline"] if e["kind"] == "unit_on_scene")
    received = _utc(ev["detail"]["received_at"])
    assert received - t0 >= timedelta(minutes=10)  # received on replay, stored at the tap's time
    assert abs((_utc(ev["at"]) - (t0 + timedelta(minutes=6))).total_seconds()) < 0.01
    with city[0].engine.connect() as conn:
        rows = conn.execute(text("SELECT detail FROM audit_log WHERE action='unit_status' AND object_id=:u "
                                 "ORDER BY seq"), {"u": unit}).scalars().all()
    details = [json.loads(x) for x in rows]
    assert [d["to"] for d in details] == list(taps)
    assert all("received_at" in d and "at" in d for d in details)
    k = api.get("/api/v1/kpis", headers=h).json()  # the arrival counts at the tap's time, not the replay's
    assert abs(k["overall"]["dispatch_to_arrival"]["median"] - 360) < 2


def test_bad_tap_times_are_refused_and_nothing_is_stored(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h, iid, unit, t0 = _dispatched(api, city)
    city[0].clock.advance(minutes=5)
    now = city[0].clock.now()
    url = f"/api/v1/units/{unit}/status"
    cases = [
        ("not a time", 422, "invalid_time"),
        ("2026-12-01T21:00:00", 422, "invalid_time"),  # no offset
        ((now + timedelta(minutes=5)).isoformat(), 422, "status_in_future"),
        ((now - timedelta(hours=7)).isoformat(), 422, "status_too_old"),
        ((t0 - timedelta(seconds=20)).isoformat(), 409, "status_before_previous"),  # before the dispatch
    ]
    for at, code, err in cases:
        r = api.post(url, json={"status": "acknowledged", "at": at}, headers=h)
        assert (r.status_code, r.json()["error"]["code"]) == (code, err), (at, r.text)
    units = {u["id"]: u for u in api.get("/api/v1/units", headers=h).json()}
    assert units[unit]["status"] == "dispatched"
    a = api.get(f"/api/v1/incidents/{iid}", headers=h).json()["assignments"][0]
    assert a["acknowledged_at"] is None
    ok = api.post(url, json={"status": "acknowledged", "at": (t0 + timedelta(minutes=2)).isoformat()}, headers=h)
    assert ok.status_code == 200
    # en route "before" the acknowledgement just stored: out of order in time
    r = api.post(url, json={"status": "en_route", "at": (t0 + timedelta(minutes=1)).isoformat()}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "status_before_previous"
    # a live tap (no at) still works and is stamped now
    r = api.post(url, json={"status": "en_route"}, headers=h)
    assert r.status_code == 200
    a = api.get(f"/api/v1/incidents/{iid}", headers=h).json()["assignments"][0]
    assert abs((_utc(a["en_route_at"]) - city[0].clock.now()).total_seconds()) < 5
