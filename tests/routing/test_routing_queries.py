"""Query edge cases: unreachable points, isochrone budgets, the map layer, metric handling."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Point, shape

from jingwu.routing.domain import InvalidArgument, Metric, Unreachable
from jingwu.routing.graph import RoadGraph
from jingwu.routing.osm_import import HIGHWAY_CLASSES
from routing.osm_builder import write_osm
from routing.routing_reference import hav


def _spur_network(tmp_path: Path) -> tuple[RoadGraph, dict[int, tuple[float, float]]]:
    """A–B–C street with a spur B–D; every turn into the spur is banned, so D is unreachable from A."""
    nodes = {1: (104.000, 30.6), 2: (104.001, 30.6), 3: (104.002, 30.6), 4: (104.001, 30.601)}
    ways = [
        (1, [1, 2], {"highway": "residential"}),
        (2, [2, 3], {"highway": "residential"}),
        (3, [2, 4], {"highway": "residential"}),
    ]
    rels = [
        (
            1,
            [("w", 1, "from"), ("n", 2, "via"), ("w", 3, "to")],
            {"type": "restriction", "restriction": "no_left_turn"},
        ),
        (
            2,
            [("w", 2, "from"), ("n", 2, "via"), ("w", 3, "to")],
            {"type": "restriction", "restriction": "no_right_turn"},
        ),
    ]
    return RoadGraph.build(write_osm(tmp_path / "spur.osm", nodes, ways, rels)), nodes


def test_unreachable_is_reported(tmp_path: Path) -> None:
    g, nodes = _spur_network(tmp_path)
    a = g.snap(*nodes[1])
    mid_spur = g.snap(104.001, 30.6005)
    with pytest.raises(Unreachable) as info:
        g.route(a, mid_spur)
    assert info.value.code == "unreachable"
    assert math.isinf(float(g.one_to_many(a, [mid_spur])[0]))
    assert math.isinf(float(g.many_to_one([a], mid_spur)[0]))
    assert g.k_fastest([a], mid_spur, 3) == []
    assert math.isinf(float(g.matrix([a], [mid_spur])[0, 0]))
    # standing at B (the via node) the spur is fine: no turn has been made
    b = g.snap(*nodes[2])
    assert g.route(b, mid_spur, Metric.DISTANCE).meters == pytest.approx(hav(*nodes[2], 104.001, 30.6005), rel=1e-6)
    # and leaving the spur is not restricted
    assert math.isfinite(g.route(mid_spur, a).seconds)
    part = g.nearest_source_partition([a])
    osm = g.a["node_osm"].tolist()
    assert part[osm.index(4)] == -1 and part[osm.index(3)] == 0


def test_isochrone_budgets(chengdu: RoadGraph) -> None:
    at = chengdu.snap(104.0657, 30.6595)
    small = shape(chengdu.isochrone(at, 0))
    assert small.area > 0 and small.contains(Point(at.snapped_lon, at.snapped_lat))
    areas = [shape(chengdu.isochrone(at, m)).area for m in (1, 3, 6)]
    assert areas[0] < areas[1] < areas[2]
    with pytest.raises(InvalidArgument):
        chengdu.isochrone(at, -1)
    with pytest.raises(InvalidArgument):
        chengdu.isochrone(at, math.nan)


def test_roads_geojson(chengdu: RoadGraph) -> None:
    fc = chengdu.roads_geojson()
    assert fc["type"] == "FeatureCollection"
    feats = fc["features"]
    assert 0 < len(feats) < chengdu.n_pieces  # pieces of one way are merged
    total = 0.0
    oneways = 0
    for f in feats:
        assert f["geometry"]["type"] == "LineString"
        props = f["properties"]
        assert set(props) == {"highway", "name", "oneway"}
        assert props["highway"] in HIGHWAY_CLASSES
        oneways += props["oneway"]
        coords = f["geometry"]["coordinates"]
        assert len(coords) >= 2
        assert all(round(c, 6) == c for pt in coords for c in pt)
        total += sum(hav(*coords[i], *coords[i + 1]) for i in range(len(coords) - 1))
    assert 0 < oneways < len(feats)
    assert total == pytest.approx(float(chengdu.piece_len.sum()), rel=1e-4)
    assert len(json.dumps(fc, ensure_ascii=False)) < 2_000_000
    named = [f for f in feats if f["properties"]["name"]]
    assert any("路" in f["properties"]["name"] for f in named)


def test_metric_strings_and_node_coords(chengdu: RoadGraph) -> None:
    a = chengdu.snap(104.0657, 30.6595)
    b = chengdu.snap(104.08, 30.67)
    t = chengdu.route(a, b, "time")  # type: ignore[arg-type]
    d = chengdu.route(a, b, Metric.DISTANCE)
    assert d.meters <= t.meters + 1e-6
    assert t.seconds <= d.seconds + 1e-6
    assert chengdu.node_coords().shape == (chengdu.n_nodes, 2)
    x0, y0, x1, y1 = chengdu.bbox
    assert 104.0 < x0 < x1 < 104.2 and 30.6 < y0 < y1 < 30.8
    assert np.all(chengdu.nearest_source_partition([]) == -1)
    assert chengdu.k_fastest([], a, 5) == [] and chengdu.k_fastest([a], b, 0) == []
    assert chengdu.matrix([], [b]).shape == (0, 1)


def test_partition_polygons_tile_the_city(chengdu: RoadGraph) -> None:
    import csv

    from shapely import union_all

    stations = Path(__file__).resolve().parents[2] / "src" / "jingwu" / "data" / "chengdu"
    rows = list(csv.DictReader((stations / "chengdu_central_osm_police_fire.csv").open(encoding="utf-8")))
    sources = [chengdu.snap(float(r["lon_wgs84"]), float(r["lat_wgs84"]), 1000) for r in rows]
    polys = chengdu.partition_polygons(sources)
    assert len(polys) == len(sources)
    geoms = {i: shape(p) for i, p in enumerate(polys) if p is not None}
    assert all(g.is_valid and g.area > 0 for g in geoms.values())
    total = sum(g.area for g in geoms.values())
    assert total == pytest.approx(union_all(list(geoms.values())).area, rel=1e-6)  # no overlaps
    labels = chengdu.nearest_source_partition(sources)
    assert set(np.unique(labels[labels >= 0]).tolist()) == set(geoms)
    for v in range(0, chengdu.n_nodes, 7):
        if labels[v] >= 0:
            assert geoms[int(labels[v])].buffer(1e-6).contains(Point(chengdu.node_lon[v], chengdu.node_lat[v]))


def test_swapped_point_inside_range_gets_a_hint() -> None:
    """Where LAT,LON is still a valid coordinate (e.g. Cairo), an off-network error says it looks swapped."""
    from jingwu.routing.domain import OffNetwork
    from jingwu.routing.synthetic import grid_city

    g = RoadGraph.from_pieces(grid_city(20, origin=(31.2, 30.0)))
    lon, lat = 31.205, 30.005
    assert g.snap(lon, lat).distance_m < 50
    with pytest.raises(OffNetwork, match="looks like LAT,LON"):
        g.snap(lat, lon)
