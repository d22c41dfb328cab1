"""The Chengdu demo city built from the packaged OSM extract."""

from __future__ import annotations

import pytest
from shapely.geometry import Point, shape
from shapely.ops import unary_union

from jingwu.demo import city as demo
from jingwu.platform.container import Container
from jingwu.platform.domain import Role
from jingwu.routing.api import ROAD_GRAPH


@pytest.fixture
def city(container: Container) -> dict[str, str]:
    return demo.load_demo_city(container)


def test_agency_tree_stations_and_fire_stations(container: Container, city: dict[str, str]) -> None:
    with container.uow() as uow:
        root = uow.agencies.by_code(demo.CITY_CODE)
        assert root is not None
        tree = uow.agencies.in_subtree(root.path)
    kinds = [a.kind for a in tree]
    assert kinds.count("city_bureau") == 1
    assert kinds.count("branch_bureau") == 5
    assert kinds.count("station") == 9
    assert kinds.count("fire_station") == 3
    stations = [a for a in tree if a.kind == "station"]
    assert {"成都二仙桥派出所", "跳蹬河派出所"} <= {a.name for a in stations}
    assert all(a.source and a.source.startswith("osm:") for a in stations)
    by_id = {a.id: a for a in tree}
    for s in stations:  # every station sits under a branch bureau under the city bureau
        assert by_id[s.parent_id].kind == "branch_bureau"  # type: ignore[index]


def test_jurisdictions_are_one_piece_each_contain_their_station_and_do_not_overlap(
        container: Container, city: dict[str, str]) -> None:
    with container.uow() as uow:
        stations = uow.agencies.in_subtree("/", "station")
    polys = [shape(s.jurisdiction) for s in stations]  # type: ignore[arg-type]
    for s, p in zip(stations, polys, strict=True):
        assert p.geom_type == "Polygon"
        assert p.buffer(1e-4).contains(Point(s.lon, s.lat)), s.name
    total = sum(p.area for p in polys)
    assert unary_union(polys).area == pytest.approx(total, rel=1e-3)  # a tiling: no overlaps


def test_towns_have_documented_population(container: Container, city: dict[str, str]) -> None:
    with container.uow() as uow:
        towns = uow.towns.all()
    assert len(towns) == 9
    for t in towns:
        assert t.area_km2 and t.area_km2 > 0
        # population = area x density (area is stored rounded to 0.001 km²)
        assert abs(t.population - t.area_km2 * demo.CENTRAL_DENSITY) <= demo.CENTRAL_DENSITY * 0.0005 + 1
        assert t.population_note and "人口普查" in t.population_note


def test_about_forty_units_on_the_road(container: Container, city: dict[str, str]) -> None:
    with container.uow() as uow:
        units = uow.units.in_subtree("/")
    assert 36 <= len(units) <= 45
    g = container.get(ROAD_GRAPH)
    for u in units:
        assert u.lon is not None and u.lat is not None
        assert g.snap(u.lon, u.lat, max_distance_m=5).distance_m < 1.0  # positions lie on a road


def test_one_demo_user_per_role_and_no_second_load(container: Container, city: dict[str, str]) -> None:
    with container.uow() as uow:
        users = uow.users.in_subtree("/")
    assert {r for u in users for r in u.roles} == set(Role)
    assert set(city) == {u.username for u in users}
    assert all(len(pw) >= 12 for pw in city.values())
    with pytest.raises(RuntimeError):
        demo.load_demo_city(container)
