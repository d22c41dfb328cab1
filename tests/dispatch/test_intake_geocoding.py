"""Calls that arrive with an address and no coordinates are located by the gazetteer (server-side), on
the Chengdu demo city, both databases. Where the call lands is checked against the OSM file itself."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point

from geocode.osm_facts import Facts, metres, read_facts
from jingwu.dispatch.geo import GEOCODE_MIN_CONFIDENCE
from jingwu.routing.settings import DEMO_OSM_FILE
from support import both_databases, data_file, login

pytestmark = both_databases


@pytest.fixture(scope="module")
def facts() -> Facts:
    return read_facts(data_file(DEMO_OSM_FILE))


def _call(api: TestClient, h: dict[str, str], **body: object) -> dict:  # type: ignore[type-arg]
    r = api.post("/api/v1/calls", json={"channel": "phone", "type_code": "020200", **body}, headers=h)
    assert r.status_code == 201, r.text
    inc = api.get(f"/api/v1/incidents/{r.json()['incident_id']}", headers=h)
    assert inc.status_code == 200, inc.text
    return inc.json()  # type: ignore[no-any-return]


def _geocoded(inc: dict) -> list[dict]:  # type: ignore[type-arg]
    return [e["detail"] for e in inc["timeline"] if e["kind"] == "geocoded"]


def test_an_address_only_call_is_placed_on_the_named_street(api: TestClient, city, facts: Facts) -> None:  # type: ignore[no-untyped-def]
    h = login(api, "calltaker", city[1]["calltaker"])
    # the longest primary street of the extract whose name no other feature shares
    name = max((n for n, c in facts.streets.items() if "primary" in facts.street_class[n] and n not in facts.pois),
               key=lambda n: sum(g.length for g in facts.streets[n]))
    inc = _call(api, h, address=name)
    assert inc["lon"] is not None and inc["snapped_lon"] is not None
    assert min(metres(Point(inc["lon"], inc["lat"]), g) for g in facts.streets[name]) < 1.0
    [fix] = _geocoded(inc)
    assert fix["source"] == "geocoder" and fix["used"] is True and fix["query"] == name
    assert GEOCODE_MIN_CONFIDENCE <= fix["confidence"] <= 1 and fix["kind"] == "street"
    assert inc["address"] == name  # the caller's words are kept


def test_an_intersection_address_lands_on_the_shared_node(api: TestClient, city, facts: Facts) -> None:  # type: ignore[no-untyped-def]
    h = login(api, "calltaker", city[1]["calltaker"])
    (a, b), nodes = next((k, v) for k, v in sorted(facts.crossings.items()) if len(v) == 1)
    inc = _call(api, h, address=f"{a}与{b}交叉口")
    assert metres(Point(inc["lon"], inc["lat"]), nodes[0]) < 1.0
    assert _geocoded(inc)[0]["kind"] == "intersection"


def test_an_address_the_map_does_not_know_stays_unlocated(api: TestClient, city) -> None:  # type: ignore[no-untyped-def]
    h = login(api, "calltaker", city[1]["calltaker"])
    inc = _call(api, h, address="qqqq xxxx zzzz")
    assert inc["lon"] is None and inc["snapped_lon"] is None
    for fix in _geocoded(inc):  # a weak guess may be recorded, never used
        assert fix["used"] is False and fix["confidence"] < GEOCODE_MIN_CONFIDENCE


def test_a_call_with_coordinates_is_not_geocoded(api: TestClient, city, facts: Facts) -> None:  # type: ignore[no-untyped-def]
    h = login(api, "calltaker", city[1]["calltaker"])
    name = sorted(facts.streets)[0]
    p = facts.streets[name][0].interpolate(0.5, normalized=True)
    inc = _call(api, h, lon=p.x, lat=p.y, address="somewhere else entirely")
    assert inc["lon"] == pytest.approx(p.x) and not _geocoded(inc)
