"""The geocoding and map-label HTTP contract on both databases: who may call it, bad input (422 with a
code), and answers checked against facts read from the served OSM file (the packaged Chengdu extract)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape

from geocode.osm_facts import Facts, metres, read_facts
from jingwu.routing.gazetteer.build import PLACE_RANK, STREET_RANK
from jingwu.routing.settings import DEMO_OSM_FILE
from support import Org, both_databases, data_file, login

pytestmark = both_databases


@pytest.fixture(scope="module")
def facts() -> Facts:
    return read_facts(data_file(DEMO_OSM_FILE))


def assert_error(r, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/api/v1/geocode?q=x", "/api/v1/geocode/reverse?lon=104.07&lat=30.67",
                                  "/api/v1/map/labels?bbox=104.06,30.66,104.08,30.68&zoom=15"])
def test_geocoding_and_labels_need_a_signed_in_user(client: TestClient, org: Org, path: str) -> None:
    assert_error(client.get(path), 401, "not_authenticated")


def test_a_forged_token_is_refused(client: TestClient, org: Org) -> None:
    h = {"Authorization": "Bearer not-a-token"}
    assert_error(client.get("/api/v1/geocode?q=x", headers=h), 401, "invalid_token")
    assert_error(client.get("/api/v1/map/labels?bbox=104.06,30.66,104.08,30.68&zoom=15", headers=h), 401,
                 "invalid_token")


def test_street_search_lands_on_the_street(client: TestClient, org: Org, facts: Facts) -> None:
    h = login(client, "disp_a", org.passwords["disp_a"])
    # the longest primary-or-above named street of the file, by its OSM name
    name = max((n for n, c in facts.streets.items() if {"primary", "trunk", "secondary"} & facts.street_class[n]),
               key=lambda n: sum(g.length for g in facts.streets[n]))
    r = client.get("/api/v1/geocode", params={"q": name, "limit": 3}, headers=h)
    assert r.status_code == 200, r.text
    top = r.json()["results"][0]
    assert top["kind"] == "street" and top["name"] == name and 0 < top["confidence"] <= 1
    assert min(metres(Point(top["lon"], top["lat"]), g) for g in facts.streets[name]) < 1.0
    confidences = [x["confidence"] for x in r.json()["results"]]
    assert confidences == sorted(confidences, reverse=True)


def test_intersection_query_lands_on_the_shared_node(client: TestClient, org: Org, facts: Facts) -> None:
    h = login(client, "disp_a", org.passwords["disp_a"])
    (a, b), nodes = next((k, v) for k, v in sorted(facts.crossings.items()) if len(v) == 1)
    for q in (f"{a}与{b}交叉口", f"{a} and {b}", f"{b} / {a}"):
        top = client.get("/api/v1/geocode", params={"q": q}, headers=h).json()["results"][0]
        assert top["kind"] == "intersection", (q, top)
        assert metres(Point(top["lon"], top["lat"]), nodes[0]) < 1.0


def test_reverse_names_the_nearest_street_with_its_distance(client: TestClient, org: Org, facts: Facts) -> None:
    h = login(client, "disp_a", org.passwords["disp_a"])
    name = sorted(facts.streets)[0]
    line = facts.streets[name][0]
    p = line.interpolate(0.5, normalized=True)
    r = client.get("/api/v1/geocode/reverse", params={"lon": p.x, "lat": p.y}, headers=h)
    assert r.status_code == 200, r.text
    first = r.json()["results"][0]
    assert first["kind"] == "street" and first["distance_m"] < 1.0
    # the point lies on a way of that name; another street may share the point only at a crossing
    assert first["name"] == name or any(metres(p, g) < 1.0 for g in facts.streets[first["name"]])


@pytest.mark.parametrize("params", [{"q": "  "}, {"q": "x", "limit": 0}, {"q": "x", "near": "104.0"},
                                    {"q": "x", "near": "200,30"}, {}])
def test_bad_geocode_input_is_422(client: TestClient, org: Org, params: dict[str, object]) -> None:
    h = login(client, "disp_a", org.passwords["disp_a"])
    r = client.get("/api/v1/geocode", params=params, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"], r.text


@pytest.mark.parametrize("bbox,zoom", [("104.0,30.6,104.6,30.7", 14), ("104.0,30.6,104.1,31.2", 14),
                                        ("104.06,30.66,104.08,30.68", 9), ("104.06,30.66,104.08,30.68", 21),
                                        ("104.08,30.66,104.06,30.68", 15), ("a,b,c,d", 15), ("104.0,30.6", 15)])
def test_labels_refuse_a_bad_bbox_or_zoom(client: TestClient, org: Org, bbox: str, zoom: int) -> None:
    h = login(client, "disp_a", org.passwords["disp_a"])
    assert_error(client.get("/api/v1/map/labels", params={"bbox": bbox, "zoom": zoom}, headers=h), 422,
                 "invalid_bbox")
    assert_error(client.get("/api/v1/public/map/labels", params={"bbox": bbox, "zoom": zoom}), 422, "invalid_bbox")


def _bbox_around(p: Point, d: float = 0.02) -> str:
    return f"{p.x - d},{p.y - d},{p.x + d},{p.y + d}"


def test_labels_carry_streets_places_and_pois_of_the_file(client: TestClient, org: Org, facts: Facts) -> None:
    h = login(client, "disp_a", org.passwords["disp_a"])
    poi_name, poi_pts = sorted(facts.pois.items())[0]
    r = client.get("/api/v1/map/labels", params={"bbox": _bbox_around(poi_pts[0]), "zoom": 20}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and fc["features"]
    for f in fc["features"]:
        props = f["properties"]
        assert set(props) == {"kind", "name", "name_zh", "name_en", "rank", "min_zoom"}
        assert props["kind"] in ("street", "place", "poi") and props["min_zoom"] <= 20
        assert isinstance(props["rank"], int)
        assert f["geometry"]["type"] in (("LineString", "MultiLineString") if props["kind"] == "street"
                                         else ("Point",))
    pois = [f for f in fc["features"] if f["properties"]["kind"] == "poi" and f["properties"]["name"] == poi_name]
    assert any(metres(shape(f["geometry"]), poi_pts[0]) < 1.0 for f in pois)
    # every street label is drawn along a way of that name in the file
    for f in fc["features"]:
        if f["properties"]["kind"] == "street":
            g = shape(f["geometry"])
            assert min(metres(g.representative_point(), w) for w in facts.streets[f["properties"]["name"]]) < 5.0


def test_labels_follow_the_zoom(client: TestClient, org: Org, facts: Facts) -> None:
    h = login(client, "disp_a", org.passwords["disp_a"])
    centre = facts.streets[sorted(facts.streets)[0]][0].centroid
    at = {z: client.get("/api/v1/map/labels", params={"bbox": _bbox_around(centre, 0.1), "zoom": z},
                        headers=h).json()["features"] for z in (10, 14, 17)}
    assert all(f["properties"]["min_zoom"] <= z for z, fs in at.items() for f in fs)
    assert len(at[10]) < len(at[14]) < len(at[17])
    # at zoom 10 only the classes documented for it: motorway/trunk streets and city/town places
    z10_streets = {k for k, (_, z) in STREET_RANK.items() if z <= 10}
    z10_places = {k for k, (_, z) in PLACE_RANK.items() if z <= 10}
    for f in at[10]:
        name = f["properties"]["name"]
        if f["properties"]["kind"] == "street":
            assert facts.street_class[name] & z10_streets
        else:
            assert f["properties"]["kind"] == "place" and facts.place_tags[name]["place"] in z10_places


def test_public_labels_show_places_and_main_streets_only(client: TestClient, facts: Facts) -> None:
    centre = facts.streets[sorted(facts.streets)[0]][0].centroid
    r = client.get("/api/v1/public/map/labels", params={"bbox": _bbox_around(centre, 0.1), "zoom": 18})
    assert r.status_code == 200
    feats = r.json()["features"]
    assert feats and {f["properties"]["kind"] for f in feats} <= {"street", "place"}
    main = {k for k, (rank, _) in STREET_RANK.items() if rank <= 3}
    for f in feats:
        if f["properties"]["kind"] == "street":
            assert facts.street_class[f["properties"]["name"]] & main
