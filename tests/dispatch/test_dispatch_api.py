"""Dispatch through HTTP on the Chengdu demo city: intake, idempotency, bad
input, recommendations by road ETA, race-safe dispatch, the status chain,
SMS location links, alarm devices, duplicates, timers, personal data, KPIs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from jingwu.dispatch.services import alerts
from jingwu.dispatch.wiring import catalogue, dispatch_uow, geo
from jingwu.platform.container import Container
from support import both_databases, login

pytestmark = both_databases

# a point on 人民南路 / near 天府广场 and one near 二仙桥
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


def test_intake_is_idempotent(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = {**hdr(api, city, "calltaker"), "Idempotency-Key": "call-42"}
    body = {"type_code": "010400", "lon": CENTRE[0], "lat": CENTRE[1]}
    first = api.post("/api/v1/calls", json=body, headers=h)
    again = api.post("/api/v1/calls", json=body, headers=h)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["incident_id"] == again.json()["incident_id"]
    other = api.post("/api/v1/calls", json={**body, "type_code": "010600"}, headers=h)
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    c: Container = city[0]
    with c.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents")).scalar_one() == 1


def test_concurrent_retries_create_one_incident(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = {**hdr(api, city, "calltaker"), "Idempotency-Key": "burst-1"}
    body = {"type_code": "010400", "lon": CENTRE[0], "lat": CENTRE[1]}
    codes: list[int] = []
    ids: set[str] = set()

    def go() -> None:
        r = api.post("/api/v1/calls", json=body, headers=h)
        codes.append(r.status_code)
        ids.add(r.json()["incident_id"])

    ts = [threading.Thread(target=go) for _ in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(codes) == [200] * 5 + [201] and len(ids) == 1


@pytest.mark.parametrize(("body", "code"), [
    ({"type_code": "020200", "lon": 30.66, "lat": 104.06}, "validation_error"),  # swapped: lat > 90
    ({"type_code": "020200", "lon": 104.0657}, "invalid_coordinate"),
    ({"type_code": "999999", "lon": CENTRE[0], "lat": CENTRE[1]}, "unknown_type"),
    ({"type_code": "020200", "lon": CENTRE[0], "lat": CENTRE[1], "channel": "pigeon"}, "unknown_channel"),
])
def test_malformed_intake_is_refused_and_nothing_stored(api: TestClient, city, body, code) -> None:  # type: ignore[no-untyped-def]
    r = api.post("/api/v1/calls", json=body, headers=hdr(api, city, "calltaker"))
    assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    with city[0].engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents")).scalar_one() == 0


def test_nan_coordinates_are_refused(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    raw = '{"type_code": "020200", "lon": NaN, "lat": 30.6}'
    r = api.post("/api/v1/calls", content=raw, headers={**hdr(api, city, "calltaker"),
                                                         "Content-Type": "application/json"})
    assert r.status_code == 422


def test_recommendations_rank_by_road_eta_and_explain(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = hdr(api, city)
    inc = call(api, h, EAST)
    r = api.get(f"/api/v1/incidents/{inc['incident_id']}/recommendations?limit=40", headers=h)
    assert r.status_code == 200
    body = r.json()
    # run_cards.json: a fight (0202) needs two patrol cars, three from 22:00 to 04:00 local time
    received = api.get(f"/api/v1/incidents/{inc['incident_id']}", headers=h).json()["received_at"]
    local = datetime.fromisoformat(received).astimezone(ZoneInfo(city[0].settings.timezone))
    night = local.hour >= 22 or local.hour < 4
    assert body["required"] == {"patrol_car": 3 if night else 2}
    assert ("22:00-04:00" in body["run_card"]) == night
    units = body["units"]
    assert units and all(u["reasons"] and u["eta_seconds"] is not None for u in units)
    matching = [u for u in units if u["matches_run_card"]]
    etas = [u["eta_seconds"] for u in matching]
    assert etas == sorted(etas) and all(u["kind"] == "patrol_car" for u in matching)
    # independent check: the top ETA equals the routing engine's many_to_one for that unit
    c: Container = city[0]
    g = geo(c)
    with dispatch_uow(c) as uow:
        u = uow.units.get(units[0]["unit_id"])
    target = g.snap(EAST[0], EAST[1])
    direct = g.graph.many_to_one([g.graph.snap(u.lon, u.lat, 5000)], target)[0]
    assert units[0]["eta_seconds"] == pytest.approx(float(direct), rel=1e-9)


def test_recommendations_mark_units_outside_the_dispatchers_scope(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    """A station's dispatcher sees the nearer units of other stations marked (it may not send them), its
    own first; the whole set goes out from its own units only."""
    from jingwu.platform import services

    c: Container = city[0]
    h = hdr(api, city)
    inc = call(api, h, EAST)
    owner = api.get(f"/api/v1/incidents/{inc['incident_id']}", headers=h).json()["agency_id"]
    with c.uow() as uow:
        station = uow.agencies.get(owner)
    assert station.kind == "station"
    services.create_user(services.CreateUser("disp_st", "站调度", "pw-disp-st-123", station.code, ("dispatcher",)),
                         uow=c.uow(), actor=None)
    hs = login(api, "disp_st", "pw-disp-st-123")
    units = api.get(f"/api/v1/incidents/{inc['incident_id']}/recommendations?limit=100", headers=h).json()["units"]
    assert all(u["in_scope"] for u in units)  # the city's dispatcher may send every unit
    with c.uow() as uow:
        agencies = {a.id: a.path for a in uow.agencies.in_subtree("/")}
    got = api.get(f"/api/v1/incidents/{inc['incident_id']}/recommendations?limit=100", headers=hs).json()["units"]
    assert any(not u["in_scope"] for u in got) and any(u["in_scope"] for u in got)
    for u in got:
        assert u["in_scope"] == agencies[u["agency_id"]].startswith(station.path)
        assert ("outside your agency" in u["reasons"]) == (not u["in_scope"])
    flags = [u["in_scope"] for u in got if u["status"] == "available"]
    assert flags == sorted(flags, reverse=True)  # own units first
    out = next(u for u in got if not u["in_scope"])
    r = api.post(f"/api/v1/incidents/{inc['incident_id']}/dispatch", json={"unit_id": out["unit_id"]}, headers=hs)
    assert r.status_code == 403


def test_stale_positions_are_flagged(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = hdr(api, city)
    inc = call(api, h, EAST)
    city[0].clock.advance(minutes=10)  # demo positions are now 10 minutes old
    units = api.get(f"/api/v1/incidents/{inc['incident_id']}/recommendations", headers=h).json()["units"]
    assert all(u["position_source"] == "stale" for u in units)
    assert any("stale position" in " ".join(u["reasons"]) for u in units)


def test_dispatch_twice_gives_409(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = hdr(api, city)
    a = call(api, h, EAST)
    b = call(api, h, CENTRE, type_code="030200")
    top = api.get(f"/api/v1/incidents/{a['incident_id']}/recommendations", headers=h).json()["units"][0]
    ok = api.post(f"/api/v1/incidents/{a['incident_id']}/dispatch", json={"unit_id": top["unit_id"]}, headers=h)
    assert ok.status_code == 200
    lost = api.post(f"/api/v1/incidents/{b['incident_id']}/dispatch", json={"unit_id": top["unit_id"]}, headers=h)
    assert lost.status_code == 409 and lost.json()["error"]["code"] == "unit_unavailable"


def test_two_simultaneous_clicks_one_wins(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = hdr(api, city)
    a = call(api, h, EAST)
    b = call(api, h, CENTRE, type_code="030200")
    unit = api.get(f"/api/v1/incidents/{a['incident_id']}/recommendations", headers=h).json()["units"][0]["unit_id"]
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def click(incident_id: str) -> None:
        barrier.wait()
        codes.append(api.post(f"/api/v1/incidents/{incident_id}/dispatch", json={"unit_id": unit},
                              headers=h).status_code)

    ts = [threading.Thread(target=click, args=(i,)) for i in (a["incident_id"], b["incident_id"])]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(codes) == [200, 409]
    with city[0].engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM assignments WHERE unit_id=:u"), {"u": unit}).scalar_one() == 1


def test_status_chain_is_timed_and_closes_the_incident(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = hdr(api, city)
    inc = call(api, h, EAST)
    iid = inc["incident_id"]
    unit = api.get(f"/api/v1/incidents/{iid}/recommendations", headers=h).json()["units"][0]["unit_id"]
    assert api.post(f"/api/v1/incidents/{iid}/dispatch", json={"unit_id": unit}, headers=h).status_code == 200
    officer = hdr(api, city, "dispatcher")
    bad = api.post(f"/api/v1/units/{unit}/status", json={"status": "on_scene"}, headers=officer)
    assert bad.status_code == 409 and bad.json()["error"]["code"] == "illegal_transition"
    for st in ["acknowledged", "en_route", "on_scene", "cleared"]:
        city[0].clock.advance(seconds=30)
        r = api.post(f"/api/v1/units/{unit}/status", json={"status": st}, headers=officer)
        assert r.status_code == 200, r.text
    assert api.post(f"/api/v1/units/{unit}/feedback", json={"text": "双方已调解"}, headers=officer).status_code == 204
    detail = api.get(f"/api/v1/incidents/{iid}", headers=h).json()
    assert detail["status"] == "closed"
    a = detail["assignments"][0]
    stamps = [a[k] for k in ("dispatched_at", "acknowledged_at", "en_route_at", "on_scene_at", "cleared_at",
                             "feedback_at")]
    assert all(stamps) and stamps == sorted(stamps)
    assert [e["kind"] for e in detail["timeline"]][:2] == ["received", "dispatched"]
    units = {u["id"]: u for u in api.get("/api/v1/units", headers=h).json()}
    assert units[unit]["status"] == "available"
    k = api.get("/api/v1/kpis", headers=h).json()
    assert k["overall"]["dispatch_to_arrival"]["n"] == 1
    assert k["overall"]["dispatch_to_arrival"]["median"] == pytest.approx(90, abs=2)


def test_positions_batch_and_bad_positions(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = hdr(api, city)
    unit = api.get("/api/v1/units", headers=h).json()[0]["id"]
    now = city[0].clock.now()
    batch = [{"lon": 104.07 + i * 1e-4, "lat": 30.66, "at": (now + timedelta(seconds=i)).isoformat()}
             for i in range(5)]
    assert api.post(f"/api/v1/units/{unit}/positions", json={"positions": batch}, headers=h).json() == {"accepted": 5}
    u = api.get(f"/api/v1/units/{unit}", headers=h).json()
    assert u["lon"] == pytest.approx(104.0704)
    bad = api.post(f"/api/v1/units/{unit}/positions",
                   json={"positions": [{"lon": 500, "lat": 1, "at": now.isoformat()}]}, headers=h)
    assert bad.status_code == 422


def test_sms_location_link_updates_the_incident_once(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = hdr(api, city, "calltaker")
    r = api.post("/api/v1/calls", json={"type_code": "050100", "address": "不知道在哪，附近有个公园"}, headers=h)
    iid = r.json()["incident_id"]
    link = api.post(f"/api/v1/incidents/{iid}/location-link", headers=h).json()
    token = link["url"].rsplit("/", 1)[1]
    assert "【110】" in link["sms_text"]
    ok = api.post(f"/api/v1/public/location/{token}", json={"lon": EAST[0], "lat": EAST[1], "accuracy_m": 12})
    assert ok.status_code == 204
    inc = api.get(f"/api/v1/incidents/{iid}", headers=h).json()
    assert inc["lon"] == EAST[0] and inc["accuracy_m"] == 12 and inc["snapped_lon"] is not None
    again = api.post(f"/api/v1/public/location/{token}", json={"lon": EAST[0], "lat": EAST[1]})
    assert again.status_code == 401 and again.json()["error"]["code"] == "invalid_link"


def test_alarm_button_over_http(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    admin = hdr(api, city, "admin")
    station = next(a for a in api.get("/api/v1/agencies?kind=station", headers=admin).json())
    dev = api.post("/api/v1/alarm-devices", json={"code": "BTN-001", "name": "春熙路一键报警柱", "lon": CENTRE[0],
                                                 "lat": CENTRE[1], "agency_id": station["id"]}, headers=admin)
    assert dev.status_code == 201
    key = dev.json()["key"]
    assert api.post("/api/v1/public/alarm-devices/BTN-001/alarm", headers={"X-Device-Key": "nope"}).status_code == 401
    r = api.post("/api/v1/public/alarm-devices/BTN-001/alarm", json={"event_id": "e1"}, headers={"X-Device-Key": key})
    assert r.status_code == 201 and r.json()["priority"] == 1
    again = api.post("/api/v1/public/alarm-devices/BTN-001/alarm", json={"event_id": "e1"},
                     headers={"X-Device-Key": key})
    assert again.status_code == 200 and again.json()["incident_id"] == r.json()["incident_id"]
    assert api.post("/api/v1/public/alarm-devices/NOPE/alarm", headers={"X-Device-Key": key}).status_code == 404


def test_duplicates_are_proposed_then_merged_or_split(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = hdr(api, city, "calltaker")
    first = call(api, h, CENTRE, type_code="020200")
    second = call(api, h, (CENTRE[0] + 0.0005, CENTRE[1]), type_code="020300")  # ~50 m, same category
    assert [d["candidate_id"] for d in second["duplicates"]] == [first["incident_id"]]
    far = call(api, h, EAST, type_code="020200")
    assert far["duplicates"] == []
    third = call(api, h, CENTRE, type_code="020100")
    assert api.post(f"/api/v1/incidents/{third['incident_id']}/split", json={"candidate": first["incident_id"]},
                    headers=h).status_code == 204
    assert api.post(f"/api/v1/incidents/{second['incident_id']}/merge", json={"into": first["incident_id"]},
                    headers=h).status_code == 204
    merged = api.get(f"/api/v1/incidents/{second['incident_id']}", headers=h).json()
    assert merged["status"] == "merged" and merged["merged_into"] == first["incident_id"]
    traffic = call(api, h, CENTRE, type_code="030200")  # different category: not a duplicate
    assert traffic["duplicates"] == []


def test_timers_raise_ack_and_officer_safety_alerts(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    h = hdr(api, city)
    inc = call(api, h, EAST)
    unit = api.get(f"/api/v1/incidents/{inc['incident_id']}/recommendations", headers=h).json()["units"][0]["unit_id"]
    api.post(f"/api/v1/incidents/{inc['incident_id']}/dispatch", json={"unit_id": unit}, headers=h)
    run = lambda: alerts.check_timers(uow=dispatch_uow(c), geo=geo(c), cat=catalogue(c))  # noqa: E731
    assert run() == []
    c.clock.advance(seconds=61)
    assert len(run()) == 1 and run() == []  # raised once, not repeated
    kinds = [a["kind"] for a in api.get("/api/v1/alerts", headers=h).json()]
    assert kinds == ["ack_timeout"]
    for st in ["acknowledged", "en_route", "on_scene"]:
        api.post(f"/api/v1/units/{unit}/status", json={"status": st}, headers=h)
    assert [a["kind"] for a in api.get("/api/v1/alerts", headers=h).json()] == []  # ack resolved it
    c.clock.advance(minutes=6)
    run()
    assert [a["kind"] for a in api.get("/api/v1/alerts", headers=h).json()] == ["officer_safety"]


def test_personal_data_is_role_gated_and_audited(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = hdr(api, city)
    inc = call(api, h, CENTRE)
    plain = api.get(f"/api/v1/incidents/{inc['incident_id']}", headers=h).json()
    assert plain["caller"] is None and "13800000000" not in str(plain)
    full = api.get(f"/api/v1/incidents/{inc['incident_id']}?personal=true&reason=回拨核实", headers=h).json()
    assert full["caller"] == {"name": "张三", "phone": "13800000000"}
    # free text can name people: a role that does not work the call sees it withheld ...
    note = call(api, h, CENTRE, type_code="010400", summary="李四家中被盗，邻居王五目击", address="幸福路8号3单元")
    analyst = hdr(api, city, "analyst")
    url = f"/api/v1/incidents/{note['incident_id']}"
    seen = api.get(url, headers=analyst).json()
    assert seen["summary"] == "…" and seen["address"] == "…" and "李四" not in str(seen) and seen["caller"] is None
    assert api.get(url, headers=h).json()["summary"].startswith("李四")  # the dispatcher works the call
    # ... and reads it only with a stated reason, audited; the caller's name and phone stay closed to it
    r = api.get(f"{url}?personal=true", headers=analyst)
    assert r.status_code == 422 and r.json()["error"]["code"] == "missing_reason"
    opened = api.get(f"{url}?personal=true&reason=案件研判", headers=analyst).json()
    assert opened["summary"].startswith("李四") and opened["caller"] is None
    with city[0].engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, reason FROM audit_log WHERE action='personal_data_read'")).all()
        free = conn.execute(text("SELECT actor, reason FROM audit_log WHERE action='free_text_read'")).all()
    assert [(r[0], r[1]) for r in rows] == [("dispatcher", "回拨核实")]
    assert [(r[0], r[1]) for r in free] == [("analyst", "案件研判")]


def test_a_call_taker_reads_the_calls_it_took(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    """A station's call-taker takes a call that lands in another station's area: it still reads that call,
    and only that one (a colleague at the same station does not)."""
    from jingwu.platform import services

    c: Container = city[0]
    h = hdr(api, city)
    east = api.get(f"/api/v1/incidents/{call(api, h, EAST)['incident_id']}", headers=h).json()["agency_id"]
    with c.uow() as uow:
        other = next(a for a in uow.agencies.in_subtree("/") if a.kind == "station" and a.id != east)
    for name in ("ct_a", "ct_b"):
        services.create_user(services.CreateUser(name, name, f"pw-{name}-1234", other.code, ("call_taker",)),
                             uow=c.uow(), actor=None)
    mine = call(api, login(api, "ct_a", "pw-ct_a-1234"), EAST)
    got = api.get(f"/api/v1/incidents/{mine['incident_id']}", headers=login(api, "ct_a", "pw-ct_a-1234"))
    assert got.status_code == 200 and got.json()["agency_id"] == east
    r = api.get(f"/api/v1/incidents/{mine['incident_id']}", headers=login(api, "ct_b", "pw-ct_b-1234"))
    assert r.status_code == 403


def test_escalation_by_rule_and_by_hand(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = hdr(api, city)
    major = call(api, h, EAST, type_code="030100", flags={"deaths": 1})
    assert major["level"] == "city"
    minor = call(api, h, CENTRE, type_code="021400")
    assert minor["level"] == "station"
    r = api.post(f"/api/v1/incidents/{minor['incident_id']}/escalate", json={"level": "branch", "reason": "媒体关注"},
                 headers=h)
    assert r.status_code == 204
    board = api.get("/api/v1/board?level=branch", headers=h).json()
    assert {i["id"] for i in board["incidents"]} == {major["incident_id"], minor["incident_id"]}
    assert {i["id"] for i in api.get("/api/v1/board?level=city", headers=h).json()["incidents"]} == {
        major["incident_id"]}


def test_officer_of_another_station_cannot_move_a_unit(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = hdr(api, city)
    officer = hdr(api, city, "officer")  # patrol officer at the first station
    me = api.get("/api/v1/me", headers=officer).json()
    units = api.get("/api/v1/units", headers=h).json()
    foreign = next(u for u in units if u["agency_id"] != me["agency_id"])
    r = api.post(f"/api/v1/units/{foreign['id']}/status", json={"status": "off_duty"}, headers=officer)
    assert r.status_code == 403 and r.json()["error"]["code"] == "out_of_scope"


def test_kpi_rejects_bad_ranges(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = hdr(api, city)
    t = datetime(2026, 1, 2, tzinfo=UTC)
    r = api.get("/api/v1/kpis", params={"since": t.isoformat(), "until": (t - timedelta(days=1)).isoformat()},
                headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_range"


def test_resolving_an_alert_is_scoped_audited_and_404_writes_nothing(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    c: Container = city[0]
    h = hdr(api, city)
    inc = call(api, h, EAST)
    unit = api.get(f"/api/v1/incidents/{inc['incident_id']}/recommendations", headers=h).json()["units"][0]["unit_id"]
    api.post(f"/api/v1/incidents/{inc['incident_id']}/dispatch", json={"unit_id": unit}, headers=h)
    c.clock.advance(seconds=61)
    alerts.check_timers(uow=dispatch_uow(c), geo=geo(c), cat=catalogue(c))
    alert = api.get("/api/v1/alerts", headers=h).json()[0]

    def audits() -> int:
        with c.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM audit_log WHERE action='alert_resolved'")).scalar_one())

    missing = api.post("/api/v1/alerts/999999/resolve", headers=h)
    assert missing.status_code == 404 and audits() == 0
    assert api.post(f"/api/v1/alerts/{alert['id']}/resolve", headers=h).status_code == 204
    assert audits() == 1 and api.get("/api/v1/alerts", headers=h).json() == []
    assert api.post(f"/api/v1/alerts/{alert['id']}/resolve", headers=h).status_code == 404  # already resolved
