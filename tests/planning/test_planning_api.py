"""Planning API and pages: coverage, hot spots and event rings for analysts on the served (Chengdu
demo) network; refusals with machine-readable codes; other roles kept out."""

from __future__ import annotations

from fastapi.testclient import TestClient

from planning.test_hotspots import _incidents
from support import Org, login, page_login

DEMAND = "id,weight,lon,lat\nd1,5,104.0657,30.6595\nd2,3,104.0800,30.6700\nd3,2,104.1000,30.6900\n"
SITES = "id,lon,lat\ns1,104.0660,30.6600\ns2,104.0990,30.6890\ns3,104.0700,30.7200\n"


def test_coverage_on_the_served_network(client: TestClient, org: Org) -> None:
    h = login(client, "analyst", org.passwords["analyst"])
    r = client.post("/api/v1/planning/coverage", headers=h, json={
        "demand_csv": DEMAND, "sites_csv": SITES, "k": 2, "within": 240, "method": "exact"})
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["proven_optimal"] and a["unit"] == "seconds" and len(a["chosen"]) == 2
    assert {s["id"] for s in a["chosen"]} >= {"s1", "s2"} or a["covered_share"] < 1
    assert [d["id"] for d in a["demand"]] == ["d1", "d2", "d3"]
    fast = client.post("/api/v1/planning/coverage", headers=h, json={
        "demand_csv": DEMAND, "sites_csv": SITES, "k": 2, "within": 240, "method": "fast", "backup": True}).json()
    assert fast["method"] == "fast" and "backup_share" in fast


def test_coverage_refusals(client: TestClient, org: Org) -> None:
    h = login(client, "analyst", org.passwords["analyst"])
    cases = [({"k": 9, "within": 240}, "invalid_k"), ({"k": 1, "within": 0}, "invalid_within"),
             ({"k": 1, "within": 60, "demand_csv": "id,weight,lon,lat\nd1,,104.07,30.66\n"}, "missing_weight"),
             ({"k": 1, "within": 60, "costs_csv": "site,demand,cost\nzz,d1,5\n"}, "unknown_site")]
    for extra, code in cases:
        body = {"demand_csv": DEMAND, "sites_csv": SITES} | extra
        r = client.post("/api/v1/planning/coverage", headers=h, json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == code, (extra, r.text)


def test_hotspots_and_event(client: TestClient, org: Org) -> None:
    h = login(client, "analyst", org.passwords["analyst"])
    # the test incidents are in Shenzhen; the hot-spot grid needs no road network
    rows = ["time,lon,lat"] + [f"{i.at.isoformat()},{i.lon},{i.lat}" for i in _incidents()]
    r = client.post("/api/v1/planning/hotspots", headers=h, json={"incidents_csv": "\n".join(rows), "days": "fri",
                                                                  "hours": "20-22"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["summary"]["classes"].get("hot", 0) > 0 and len(body["hour_of_week"]) == 168
    assert body["cells"]["type"] == "FeatureCollection"
    e = client.post("/api/v1/planning/event", headers=h, json={"lon": 104.0657, "lat": 30.6595, "crowd": 20000})
    assert e.status_code == 200, e.text
    assert [x["ring"] for x in e.json()["rings"]] == ["core", "control", "diversion"]
    off = client.post("/api/v1/planning/event", headers=h, json={"lon": 103.0, "lat": 30.0, "crowd": 20000})
    assert off.status_code == 422 and off.json()["error"]["code"] == "off_network"
    bad = client.post("/api/v1/planning/event", headers=h, json={"lon": 104.0657, "lat": 30.6595, "crowd": 0})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_crowd"


def test_only_planners(client: TestClient, org: Org) -> None:
    h = login(client, "disp_a", org.passwords["disp_a"])
    r = client.post("/api/v1/planning/event", headers=h, json={"lon": 104.0657, "lat": 30.6595, "crowd": 100})
    assert r.status_code == 403
    page_login(client, "disp_a", org.passwords["disp_a"])
    assert client.get("/planning").status_code == 403


def test_pages(client: TestClient, org: Org) -> None:
    page_login(client, "analyst", org.passwords["analyst"])
    html = client.get("/planning").text
    assert "勤务规划" in html and "/static/js/planning.js" in html and 'data-module="planning"' in html
    assert "Coverage" in client.get("/planning?lang=en").text
    p = client.get("/planning/event/print", params={"lon": 104.0657, "lat": 30.6595, "crowd": 5000, "name": "<b>x"})
    assert p.status_code == 200 and "核心区" in p.text and "<svg" in p.text and "<b>x" not in p.text
    off = client.get("/planning/event/print", params={"lon": 103.0, "lat": 30.0, "crowd": 5000})
    assert off.status_code == 422 and "off_network" in off.text
