"""The Chengdu demo city built from the packaged OSM extract."""

from __future__ import annotations

import logging
import re

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
    assert kinds.count("station") == 6  # 9 amenity=police objects, less 3 offices that are not precincts
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
    assert len(towns) == 6  # one per station
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


OSM_ID = re.compile(r"(node|way|relation)\s*/\s*\d+|\d{6,}")


def test_no_agency_or_town_is_named_by_an_osm_id(container: Container, city: dict[str, str]) -> None:
    with container.uow() as uow:
        agencies = uow.agencies.in_subtree("/")
        towns = uow.towns.all()
    named = [(a.name, a.name_en) for a in agencies] + [(t.name, t.name_en) for t in towns]
    assert len(named) == 1 + 5 + 6 + 3 + 6
    for zh, en in named:
        assert zh and en, (zh, en)
        assert not OSM_ID.search(zh) and not OSM_ID.search(en), (zh, en)
    stations = {a.name: a.name_en for a in agencies if a.kind == "station"}
    assert stations["跳蹬河派出所"] == "Police station (跳蹬河派出所)"
    assert stations["派出所（蜀都大道少城路附近）"] == "Police station near Shaocheng Road"
    assert len(set(stations)) == len(set(stations.values())) == 6  # names tell stations apart


def test_offices_that_are_not_precincts_are_not_stations(container: Container,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="jingwu.demo"):
        demo.load_demo_city(container)
    with container.uow() as uow:
        agencies = uow.agencies.in_subtree("/")
        towns = uow.towns.all()
    offices = {"osm:way/188063884": "保卫处", "osm:way/288179982": "出入境办证中心",
               "osm:way/430059277": "金牛公安办证中心"}
    assert not {a.source for a in agencies} & set(offices)
    assert not {a.name for a in agencies} & set(offices.values())
    assert not any(name in t.name for t in towns for name in offices.values())
    for source, name in offices.items():  # the loader's log names each one and why
        assert any(source in m and name in m and "not" in m for m in caplog.messages), (source, caplog.messages)
