"""Safety Index through the HTTP API and the bus: events (idempotent, late incidents
recompute), the authenticated and public index in every format, suppression of
small counts, bad dates, supervision tickets with audit and escalation, assessment."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import pytest
import xmlschema
from fastapi.testclient import TestClient

from jingwu.app import subscribe_features
from jingwu.contracts.events import IncidentRecorded
from jingwu.platform import services
from jingwu.platform.container import Container
from jingwu.safety_index import jobs
from jingwu.safety_index.feature import FEATURE as SAFETY_INDEX
from jingwu.safety_index.services.compute import compute
from jingwu.safety_index.services.ingest import fact_from_event, record_incidents
from jingwu.safety_index.services.tickets import escalate_overdue
from jingwu.safety_index.store import repo
from safety_index.si_support import add_towns, square
from support import Org, login, page_login

DAY0 = date(2026, 1, 1)
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


def event(i: int, day: date, town: str | None, code: str = "010600", cat: str = "crime", deaths: int = 0,
          hour: int = 4) -> dict[str, object]:
    at = datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)  # 12:00 in Shanghai: same day
    return {"incident_id": f"ev-{i}", "occurred_at": at.isoformat(), "lon": None, "lat": None, "town_id": town,
            "type_code": code, "category": cat, "deaths": deaths, "injuries": 0}


@pytest.fixture
def towns(container: Container, org: Org) -> dict[str, str]:
    return add_towns(container, org, [
        ("T1", "一镇", square(104.0, 30.6, 0.01), 20_000, "a"),
        ("T2", "二镇", square(104.01, 30.6, 0.01), 50_000, "a"),
        ("T3", "三镇", square(104.02, 30.6, 0.01), 10_000, "b"),
    ])


@pytest.fixture
def scored(container: Container, towns: dict[str, str]) -> tuple[Container, dict[str, str]]:
    """120 days: T1 steady, T2 busy, T3 quiet with a surge of burglaries in the last week."""
    c = container
    evs = []
    i = 0
    for k in range(120):
        d = DAY0 + timedelta(days=k)
        for _ in range(2):
            evs.append(event(i, d, towns["T1"]))
            i += 1
        for _ in range(5):
            evs.append(event(i, d, towns["T2"], "030200", "traffic"))
            i += 1
        if k % 10 == 0:
            evs.append(event(i, d, towns["T3"], "021400", "public_order"))
            i += 1
        if k >= 113:
            for _ in range(3):
                evs.append(event(i, d, towns["T3"], "010601", "crime"))
                i += 1
    facts = [fact_from_event(e) for e in evs]
    record_incidents(facts, uow=c.uow(), tz=jobs._tz(c))
    today = c.clock.now().astimezone(ZoneInfo(c.settings.timezone)).date()  # the deployment's "today"
    c.clock.advance(days=(DAY0 + timedelta(days=121) - today).days)  # type: ignore[attr-defined]
    s = compute(None, DAY0 + timedelta(days=119), uow_factory=c.uow, clock=c.clock, tz=jobs._tz(c))
    assert s.first == DAY0 + timedelta(days=90) and s.days == 30
    return c, towns


def check_index_authenticated_and_scoped(scored: tuple[Container, dict[str, str]], client: TestClient,
                                        org: Org) -> None:
    last = DAY0 + timedelta(days=119)
    h = login(client, "analyst", org.passwords["analyst"])
    r = client.get(f"/api/v1/safety-index?date={last}", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["date"] == last.isoformat()
    by = {t["code"]: t for t in body["towns"]}
    assert set(by) == {"T1", "T2", "T3"}
    assert sorted(t["rank"] for t in by.values()) == [1, 2, 3]
    assert by["T3"]["band"] == "red" and by["T3"]["rank"] == 3
    assert "surge_7d" in by["T3"]["warnings"]
    assert set(by["T1"]["sub_indices"]) == {"order", "fire", "traffic", "drugs", "fraud"}
    assert by["T1"]["score"] == 100.0 and by["T1"]["band"] == "green"
    assert client.get(f"/api/v1/safety-index?date={last}").status_code == 401
    h2 = login(client, "disp_a", org.passwords["disp_a"])
    r = client.get(f"/api/v1/safety-index?date={last}", headers=h2)
    assert r.status_code == 403 and r.json()["error"]["code"] == "missing_role"


def check_bad_dates_are_422_with_error_shape(scored: tuple[Container, dict[str, str]], client: TestClient,
                                            org: Org) -> None:
    h = login(client, "analyst", org.passwords["analyst"])
    for bad in ["2026-13-01", "yesterday", "2026-02-30", "2026-1-1x"]:
        for url, hdr in ((f"/api/v1/safety-index?date={bad}", h), (f"/api/v1/public/safety-index?date={bad}", {}),
                         (f"/api/v1/safety-index/assessment?from={bad}&to=2026-04-30", h),
                         (f"/api/v1/public/safety-index/towns/T1/series?from={bad}", {})):
            r = client.get(url, headers=hdr)
            assert r.status_code == 422, url
            assert r.json()["error"]["code"] == "validation_error"
            assert r.json()["error"]["message"]
    r = client.get("/api/v1/safety-index/assessment?from=2026-04-30&to=2026-04-01", headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_range"
    # dates near the calendar's ends are refused, not a 500 from date arithmetic
    for url in ("/api/v1/safety-index/assessment?from=0001-01-11&to=0004-01-12",
                "/api/v1/public/safety-index/towns/T1/series?from=0001-01-01&to=0001-02-01",
                "/api/v1/public/safety-index/towns/T1/series?to=9999-12-31"):
        r = client.get(url, headers=h)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_range", (url, r.text)
    # a day never computed is "no data" for every town (not a 404, never 100)
    r = client.get("/api/v1/public/safety-index?date=2020-01-01")
    assert r.status_code == 200 and r.json()["ranked_towns"] == 0
    assert {t["state"] for t in r.json()["towns"]} == {"no_data"}
    assert {t["score"] for t in r.json()["towns"]} == {None}
    r = client.get("/api/v1/public/safety-index?format=xls")
    assert r.status_code == 422


def check_public_formats_and_suppression(scored: tuple[Container, dict[str, str]], client: TestClient) -> None:
    last = (DAY0 + timedelta(days=119)).isoformat()
    r = client.get(f"/api/v1/public/safety-index?date={last}")
    assert r.status_code == 200
    rows = {t["town_code"]: t for t in r.json()["towns"]}
    # T3 had 3 burglaries a day in the window: shown; a quiet day elsewhere would be withheld
    assert rows["T2"]["incidents_7d"] == 35
    assert all(v is None or v >= 3 for v in (t["incidents_7d"] for t in rows.values()))
    assert "town_id" not in rows["T1"] and "deaths_7d" not in rows["T1"]
    quiet = (DAY0 + timedelta(days=95)).isoformat()  # T3: at most one noise call in the window
    t3 = {t["town_code"]: t for t in client.get(f"/api/v1/public/safety-index?date={quiet}").json()["towns"]}["T3"]
    assert t3["incidents_7d"] is None and t3["incidents_7d_suppressed"] and t3["rate_per_10k"] is None
    text = client.get(f"/api/v1/public/safety-index?date={quiet}&format=csv").text
    recs = list(csv.DictReader(io.StringIO(text)))
    assert {x["town_code"]: x["incidents_7d"] for x in recs}["T3"] == "<3"
    gj = client.get(f"/api/v1/public/safety-index?date={last}&format=geojson")
    assert gj.headers["content-type"].startswith("application/geo+json")
    feats = gj.json()["features"]
    assert len(feats) == 3 and feats[0]["geometry"]["type"] == "Polygon"
    cap = client.get(f"/api/v1/public/safety-index?date={last}&format=cap")
    assert cap.headers["content-type"].startswith("application/cap+xml")
    xmlschema.XMLSchema(str(Path(__file__).resolve().parents[1] / "data" / "cap" / "CAP-v1.2.xsd")).validate(
        cap.content)  # the official OASIS CAP 1.2 schema
    root = ET.fromstring(cap.content)
    assert {i.findtext(CAP + "effective") for i in root.findall(CAP + "info")} == {f"{last}T00:00:00+08:00"}
    assert root.tag == CAP + "alert" and root.find(CAP + "status").text == "Actual"  # type: ignore[union-attr]
    events = [i.find(CAP + "event").text for i in root.findall(CAP + "info")]  # type: ignore[union-attr]
    assert "平安指数红色预警" in events and "Safety Index red warning" in events
    assert root.find(f"{CAP}info/{CAP}area/{CAP}polygon") is not None
    s = client.get("/api/v1/public/safety-index/towns/T3/series?from=2026-04-01&to=2026-04-30").json()
    assert len(s["points"]) == 30 and s["points"][-1]["band"] == "red"


def check_events_idempotent_and_late_incident_recomputes(scored: tuple[Container, dict[str, str]]) -> None:
    c, towns = scored
    day = DAY0 + timedelta(days=118)
    with c.uow() as uow:
        before = {r["town_id"]: r for r in repo(uow).scores_on(day)}
        n0 = repo(uow).count_incidents()
    late = [event(10_000 + k, day, towns["T1"], "010100", "crime", deaths=1) for k in range(1)]
    changed = jobs.handle_incidents(c, [late[0]])
    assert changed == {day}
    assert jobs.handle_incidents(c, [late[0]]) == set()  # the same event again: nothing changes
    with c.uow() as uow:
        after = {r["town_id"]: r for r in repo(uow).scores_on(day)}
        assert repo(uow).count_incidents() == n0 + 1
    assert after[towns["T1"]]["score"] < before[towns["T1"]]["score"] - 10  # homicide + death deduction
    assert after[towns["T1"]]["deaths_7d"] == 1
    assert after[towns["T2"]]["score"] == before[towns["T2"]]["score"]


def test_bus_subscription_delivers_incidents(container: Container, towns: dict[str, str]) -> None:
    async def go() -> None:
        await subscribe_features(container, [SAFETY_INDEX])
        await container.bus.publish(IncidentRecorded.SUBJECT, event(1, DAY0, towns["T1"]))
        await container.bus.publish(IncidentRecorded.SUBJECT, event(1, DAY0, towns["T1"]))
        await container.bus.publish(IncidentRecorded.SUBJECT, {"incident_id": "x", "occurred_at": "nonsense"})
        # no town in the event: placed by its position
        await container.bus.publish(IncidentRecorded.SUBJECT, {**event(2, DAY0, None), "lon": 104.025,
                                                                "lat": 30.605})

    asyncio.run(go())
    with container.uow() as uow:
        assert repo(uow).count_incidents() == 2
        placed = repo(uow).incident("ev-2")
    assert placed and placed["town_id"] == towns["T3"]


def test_tickets_lifecycle_audited_and_escalated(scored: tuple[Container, dict[str, str]], client: TestClient,
                                                 org: Org) -> None:
    c, towns = scored
    h = login(client, "analyst", org.passwords["analyst"])
    tickets = client.get("/api/v1/safety-index/tickets", headers=h).json()
    assert [t["town_id"] for t in tickets] == [towns["T3"]]
    t = tickets[0]
    assert t["status"] == "open" and t["home_agency_id"] == org.station_b
    assert any(x.startswith("red:") for x in t["reasons"]) and any(x.startswith("surge_7d:") for x in t["reasons"])
    tid = t["id"]
    r = client.post(f"/api/v1/safety-index/tickets/{tid}/close", json={"closure": "done"}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_actions"
    assert client.post(f"/api/v1/safety-index/tickets/{tid}/assign", json={"owner": "所长"},
                       headers=h).json()["status"] == "in_progress"
    # overdue: escalated to the branch bureau, deadline extended
    c.clock.advance(days=8)  # type: ignore[attr-defined]
    esc = escalate_overdue(uow=c.uow())
    assert [e.agency_id for e in esc] == [org.branch] and esc[0].escalation_level == 1
    h = login(client, "analyst", org.passwords["analyst"])  # the old token expired with the clock
    r = client.post(f"/api/v1/safety-index/tickets/{tid}/actions", json={"text": "夜间巡逻加密"}, headers=h)
    assert r.status_code == 200 and len(r.json()["actions"]) == 1
    r = client.post(f"/api/v1/safety-index/tickets/{tid}/close", json={"closure": "入室盗窃团伙已抓获"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert client.post(f"/api/v1/safety-index/tickets/{tid}/actions", json={"text": "x"},
                       headers=h).status_code == 409
    with c.uow() as uow:
        actions = [a.action for a in uow.recent_audit(limit=50, agency_path=None) if a.object_id == tid]
    assert sorted(actions) == sorted(["safety_index.ticket_opened", "safety_index.ticket_assigned",
                                      "safety_index.ticket_escalated", "safety_index.ticket_action_added",
                                      "safety_index.ticket_closed"])
    # a dispatcher at station A may not see station B's ticket
    hd = login(client, "officer_b", org.passwords["officer_b"])
    assert client.get(f"/api/v1/safety-index/tickets/{tid}", headers=hd).status_code == 403
    # the supervision page (cookie session) lists it; anonymous visitors are sent to log in
    anon = client.get("/safety-index/supervision", follow_redirects=False)
    assert anon.status_code == 303 and "/login" in anon.headers["location"]
    page_login(client, "analyst", org.passwords["analyst"])
    page = client.get("/safety-index/supervision")
    assert page.status_code == 200 and f'data-ticket="{tid}"' in page.text and "入室盗窃团伙已抓获" in page.text
    assert "督办" in client.get("/safety-index").text
    client.cookies.clear()
    rep = client.get("/api/v1/safety-index/assessment?from=2026-04-01&to=2026-04-30", headers=h).json()
    t3 = next(x for x in rep["towns"] if x["id"] == towns["T3"])
    assert t3["days"] == 30 and t3["band_days"]["red"] >= 1 and t3["tickets_opened"] == 1
    # every mean with its day count and coverage: April fully scored, nothing scored a year before
    assert (t3["period_days"], t3["coverage"]) == (30, 1.0)
    assert (t3["previous_year_days"], t3["previous_year_coverage"], t3["previous_year_mean"]) == (0, 0.0, None)
    assert t3["tickets_closed"] == 1 and t3["tickets_closed_on_time"] == 0 and t3["tickets_escalated"] == 1
    agencies = {x["id"]: x for x in rep["agencies"]}
    assert agencies[org.station_a]["towns"] == 2 and agencies[org.station_b]["tickets_opened"] == 1
    assert agencies[org.station_a]["period_days"] == 60 and agencies[org.station_a]["coverage"] == 1.0


def test_read_publish_and_validate(scored: tuple[Container, dict[str, str]], client: TestClient, org: Org) -> None:
    """One scored city (setup is the slow part): the index, bad input, public formats, late incidents."""
    check_index_authenticated_and_scoped(scored, client, org)
    check_bad_dates_are_422_with_error_shape(scored, client, org)
    check_public_formats_and_suppression(scored, client)
    h = login(client, "analyst", org.passwords["analyst"])
    r = client.post("/api/v1/safety-index/compute", json={"from": "2026-04-20", "to": "2026-04-30"}, headers=h)
    assert r.status_code == 200 and r.json()["days"] == 11, r.text
    hd = login(client, "disp_a", org.passwords["disp_a"])
    assert client.post("/api/v1/safety-index/compute", json={}, headers=hd).status_code == 403
    # a branch's analyst reads its towns but computes (and so publishes) nothing for the city
    services.create_user(services.CreateUser("br_analyst", "br", "pw-br-analyst-123", "BR1", ("analyst",)),
                         uow=scored[0].uow(), actor=None)
    hb = login(client, "br_analyst", "pw-br-analyst-123")
    r = client.post("/api/v1/safety-index/compute", json={"from": "2026-04-20", "to": "2026-04-30"}, headers=hb)
    assert r.status_code == 403 and r.json()["error"]["code"] == "city_scope_required", r.text
    # never a day after today in the deployment's zone: nothing is stored for it
    today = scored[0].clock.now().astimezone(jobs._tz(scored[0])).date()
    future = (today + timedelta(days=1)).isoformat()
    r = client.post("/api/v1/safety-index/compute", json={"from": future, "to": future}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "future_day", r.text
    r = client.get(f"/api/v1/public/safety-index?date={future}")  # a future day: no data, never 100
    assert r.status_code == 200 and {t["state"] for t in r.json()["towns"]} == {"no_data"}
    check_events_idempotent_and_late_incident_recomputes(scored)
    # the daily job scores every unscored day up to yesterday (local time), then escalates
    s = jobs.run_daily(scored[0])
    assert (s.first, s.last, s.days) == (DAY0 + timedelta(days=120), DAY0 + timedelta(days=120), 1)
    assert jobs.run_daily(scored[0]).days == 0
