"""OSM import: tag rules, one-way handling, turn restrictions, component pruning, bad input, the cache."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from jingwu.routing.domain import (
    InvalidArgument,
    InvalidCoordinate,
    Metric,
    NoDrivableRoads,
    OffNetwork,
    OsmCorrupt,
    OsmEmpty,
    RoutingError,
)
from jingwu.routing.graph import RoadGraph
from jingwu.routing.osm_import import BOTH, BWD, FWD, SPEED_KMH, motor_access, parse_maxspeed, way_direction
from routing.osm_builder import grid_nodes, write_osm
from routing.routing_reference import hav
from support import TEST_DATA, data_file


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"highway": "residential"}, BOTH),
        ({"highway": "residential", "oneway": "yes"}, FWD),
        ({"highway": "residential", "oneway": "1"}, FWD),
        ({"highway": "residential", "oneway": "-1"}, BWD),
        ({"highway": "primary", "junction": "roundabout"}, FWD),
        ({"highway": "primary", "junction": "roundabout", "oneway": "no"}, BOTH),
        ({"highway": "motorway"}, FWD),
        ({"highway": "motorway_link"}, FWD),
        ({"highway": "motorway", "oneway": "no"}, BOTH),
        ({"highway": "primary", "oneway": "reversible"}, 0),
    ],
)
def test_way_direction(tags: dict[str, str], expected: int) -> None:
    assert way_direction(tags) == expected


@pytest.mark.parametrize(
    ("value", "kmh"),
    [("60", 60.0), ("40 km/h", 40.0), ("30 mph", 30 * 1.609344), ("CN:urban", None), ("none", None),
     (None, None), ("50;30", 50.0), ("0", None), ("300", 120.0)],
)  # fmt: skip
def test_parse_maxspeed(value: str | None, kmh: float | None) -> None:
    got = parse_maxspeed(value)
    assert got == (pytest.approx(kmh) if kmh is not None else None)


def test_motor_access() -> None:
    assert motor_access({"highway": "service"})
    assert not motor_access({"highway": "service", "access": "no"})
    assert not motor_access({"highway": "service", "motor_vehicle": "no"})
    assert motor_access({"highway": "service", "access": "no", "motor_vehicle": "yes"})
    assert motor_access({"highway": "service", "access": "no", "emergency": "yes"})


def test_speed_table_is_urban_and_ordered() -> None:
    assert SPEED_KMH["motorway"] > SPEED_KMH["trunk"] > SPEED_KMH["primary"] > SPEED_KMH["secondary"]
    assert SPEED_KMH["secondary"] > SPEED_KMH["tertiary"] > SPEED_KMH["residential"] > SPEED_KMH["living_street"]
    assert all(5 <= v <= 120 for v in SPEED_KMH.values())


# --------------------------------------------------------------------------- hand-made networks
def _plus_grid(
    tmp_path: Path, relations: list | None = None, extra_ways: list | None = None, extra_nodes: dict | None = None
) -> tuple[Path, dict]:
    """3×3 grid, every 100 m segment its own way (way id 1000+k). West arm 101→102 is one-way east."""
    nodes = grid_nodes(3) | (extra_nodes or {})
    ways = []
    wid = 1000
    ids = {}
    for r in range(3):
        for c in range(3):
            a = r * 100 + c + 1
            for b in (a + 1 if c < 2 else None, a + 100 if r < 2 else None):
                if b is None:
                    continue
                tags = {"highway": "residential"}
                if (a, b) == (101, 102):
                    tags["oneway"] = "yes"
                ways.append((wid, [a, b], tags))
                ids[(a, b)] = wid
                wid += 1
    ways.extend(extra_ways or [])
    return write_osm(tmp_path / "plus.osm", nodes, ways, relations), ids


def _path_len(nodes: dict, seq: list[int]) -> float:
    return sum(hav(*nodes[a], *nodes[b]) for a, b in itertools.pairwise(seq))


def _restriction(rid: int, tag: str, frm: int, via: int, to: int) -> tuple:
    return (rid, [("w", frm, "from"), ("n", via, "via"), ("w", to, "to")], {"type": "restriction", "restriction": tag})


@pytest.mark.parametrize(
    ("tag", "to_arm", "expected_path"),
    [
        (None, None, [102, 202]),
        ("no_left_turn", (102, 202), [102, 103, 203, 202]),
        ("only_straight_on", (102, 103), [102, 103, 203, 202]),
        # U-turns at ordinary nodes are allowed (as in the reference), so: right, U-turn at 2, straight on
        ("only_right_turn", (2, 102), [102, 2, 102, 202]),
    ],
)
def test_turn_restrictions(tmp_path: Path, tag: str | None, to_arm: tuple | None, expected_path: list[int]) -> None:
    path, ids = _plus_grid(tmp_path)
    rels = [] if tag is None else [_restriction(1, tag, ids[(101, 102)], 102, ids[to_arm])]
    path, ids = _plus_grid(tmp_path, rels)
    g = RoadGraph.build(path)
    nodes = grid_nodes(3)
    assert g.report.restrictions_applied == (0 if tag is None else 1)
    mid = ((nodes[101][0] + nodes[102][0]) / 2, nodes[101][1])
    src = g.snap(*mid)
    dst = g.snap(*nodes[202])
    half = hav(*mid, *nodes[102])
    expected = half + _path_len(nodes, expected_path)
    r = g.route(src, dst, Metric.DISTANCE)
    assert r.meters == pytest.approx(expected, rel=1e-6)
    assert float(g.one_to_many(src, [dst], Metric.DISTANCE)[0]) == pytest.approx(expected, rel=1e-6)
    assert float(g.many_to_one([src], dst, Metric.DISTANCE)[0]) == pytest.approx(expected, rel=1e-6)
    assert g.k_fastest([src], dst, 1, Metric.DISTANCE)[0][1] == pytest.approx(expected, rel=1e-6)
    assert float(g.matrix([src], [dst], Metric.DISTANCE)[0, 0]) == pytest.approx(expected, rel=1e-6)
    # the restriction does not touch other turns: from the east arm into the north arm is fine
    east = g.snap((nodes[102][0] + nodes[103][0]) / 2, nodes[102][1])
    assert g.route(east, dst, Metric.DISTANCE).meters == pytest.approx(
        hav(east.snapped_lon, east.snapped_lat, *nodes[102]) + _path_len(nodes, [102, 202]), rel=1e-6
    )


def test_unsupported_restrictions_are_reported(tmp_path: Path) -> None:
    path, ids = _plus_grid(tmp_path)
    rels = [
        (1, [("w", ids[(101, 102)], "from"), ("w", ids[(102, 103)], "via"), ("w", ids[(103, 203)], "to")],
         {"type": "restriction", "restriction": "no_left_turn"}),
        (2, [("w", ids[(101, 102)], "from"), ("n", 102, "via")], {"type": "restriction", "restriction": "no_u_turn"}),
        (3, [("w", ids[(101, 102)], "from"), ("n", 102, "via"), ("w", ids[(102, 202)], "to")],
         {"type": "restriction", "restriction": "no_left_turn", "except": "emergency"}),
    ]  # fmt: skip
    path, _ = _plus_grid(tmp_path, rels)
    g = RoadGraph.build(path)
    assert g.report.restrictions_applied == 0
    assert g.report.restrictions_skipped == {"via way (unsupported)": 1, "malformed members": 1}


def test_oneway_reverse_and_component_pruning(tmp_path: Path) -> None:
    nodes = grid_nodes(3)
    nodes[901] = (104.0, 30.5)  # far spur
    nodes[902] = (104.001, 30.5)
    extra = [
        (2001, [1, 901], {"highway": "service", "oneway": "yes"}),  # one-way dead end: dropped
        (2002, [901, 902], {"highway": "service"}),
        (2003, [3, 103], {"highway": "footway"}),  # not drivable
    ]
    path, _ids = _plus_grid(tmp_path, extra_ways=extra, extra_nodes={k: nodes[k] for k in (901, 902)})
    g = RoadGraph.build(path)
    rep = g.report
    assert rep.dropped_nodes == 2
    assert rep.dropped_edges == 3
    assert rep.dropped_km > 10
    assert any("dropped" in line for line in rep.lines())
    assert g.n_nodes == 9
    # oneway=yes west arm: driving west along it must go round the block
    a = g.snap(*nodes[102])
    mid = ((nodes[101][0] + nodes[102][0]) / 2, nodes[101][1])
    b = g.snap(*mid)
    assert g.route(a, b, Metric.DISTANCE).meters > 3 * hav(*nodes[102], *mid)
    assert g.route(b, a, Metric.DISTANCE).meters == pytest.approx(hav(*nodes[102], *mid), rel=1e-6)


def test_maxspeed_sets_travel_time(tmp_path: Path) -> None:
    nodes = {1: (104.0, 30.6), 2: (104.01, 30.6)}
    path = write_osm(tmp_path / "m.osm", nodes, [(1, [1, 2], {"highway": "primary", "maxspeed": "60"})])
    g = RoadGraph.build(path)
    r = g.route(g.snap(*nodes[1]), g.snap(*nodes[2]))
    assert r.seconds == pytest.approx(hav(*nodes[1], *nodes[2]) / (60 / 3.6), rel=1e-9)
    path = write_osm(tmp_path / "d.osm", nodes, [(1, [1, 2], {"highway": "primary"})])
    g = RoadGraph.build(path)
    r = g.route(g.snap(*nodes[1]), g.snap(*nodes[2]))
    assert r.seconds == pytest.approx(hav(*nodes[1], *nodes[2]) / (SPEED_KMH["primary"] / 3.6), rel=1e-9)


# --------------------------------------------------------------------------- bad input
def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, type[RoutingError]]]:
    empty = tmp_path / "empty.osm"
    empty.write_bytes(b"")
    no_objects = tmp_path / "noobj.osm"
    no_objects.write_text('<?xml version="1.0"?><osm version="0.6"></osm>')
    garbage = tmp_path / "garbage.osm"
    garbage.write_text("this is not OpenStreetMap <<<")
    truncated = tmp_path / "truncated.osm"
    truncated.write_text('<?xml version="1.0"?><osm version="0.6"><node id="1" lat="30.6" lon="104.0"/><way id="')
    bad_pbf = tmp_path / "bad.osm.pbf"
    bad_pbf.write_bytes(b"\x00\x00\x00\x0dnot a pbf at all" * 10)
    footways = write_osm(
        tmp_path / "footways.osm",
        {1: (104.0, 30.6), 2: (104.001, 30.6), 3: (104.002, 30.6)},
        [(1, [1, 2, 3], {"highway": "footway"}), (2, [1, 3], {"building": "yes"})],
    )
    return {
        "empty": (empty, OsmEmpty),
        "no_objects": (no_objects, OsmEmpty),
        "garbage": (garbage, OsmCorrupt),
        "truncated": (truncated, OsmCorrupt),
        "bad_pbf": (bad_pbf, OsmCorrupt),
        "missing": (tmp_path / "missing.osm", OsmCorrupt),
        "footways": (footways, NoDrivableRoads),
    }


@pytest.mark.parametrize("case", ["empty", "no_objects", "garbage", "truncated", "bad_pbf", "missing", "footways"])
def test_bad_osm_files(tmp_path: Path, case: str) -> None:
    path, err = _bad_files(tmp_path)[case]
    cache = tmp_path / "cache"
    with pytest.raises(err) as info:
        RoadGraph.load_or_build(path, cache)
    assert info.value.code in {"osm_empty", "osm_corrupt", "no_drivable_roads"}
    assert str(info.value)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_failed_write_leaves_no_partial_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = _plus_grid(tmp_path)
    cache = tmp_path / "cache"

    def boom(fh, **arrays):  # type: ignore[no-untyped-def]
        fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError):
        RoadGraph.load_or_build(path, cache)
    assert list(cache.iterdir()) == []


def test_cache_is_reused_and_rebuilt_on_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = _plus_grid(tmp_path)
    cache = tmp_path / "cache"
    g1 = RoadGraph.load_or_build(path, cache)
    files = list(cache.iterdir())
    assert len(files) == 1
    calls = []
    real_build = RoadGraph.build.__func__  # type: ignore[attr-defined]

    def counting_build(cls, p, progress=False, mode="car"):  # type: ignore[no-untyped-def]
        calls.append(p)
        return real_build(cls, p, progress, mode)

    monkeypatch.setattr(RoadGraph, "build", classmethod(counting_build))
    g2 = RoadGraph.load_or_build(path, cache)
    assert calls == []
    assert g2.n_edges == g1.n_edges and np.array_equal(g2.a["fadj"], g1.a["fadj"])
    # corrupt cache file: rebuilt silently
    files[0].write_bytes(b"junk")
    RoadGraph.load_or_build(path, cache)
    assert len(calls) == 1
    # a cache of the same source in an older format is replaced, not kept
    stale = files[0].parent / (files[0].name.rsplit(".v", 1)[0] + ".v1.npz")
    stale.write_bytes(b"old format")
    files[0].unlink()
    RoadGraph.load_or_build(path, cache)
    assert len(calls) == 2
    assert not stale.exists()
    # changed source: new cache entry
    path.write_text(path.read_text().replace("</osm>", "<!-- edited --></osm>"))
    RoadGraph.load_or_build(path, cache)
    assert len(calls) == 3
    assert len(list(cache.iterdir())) == 2


# --------------------------------------------------------------------------- bad coordinates
@pytest.mark.parametrize(
    ("lon", "lat"),
    [(math.nan, 30.6), (104.0, math.nan), (math.inf, 30.6), (181.0, 30.6), (104.0, -91.0), (30.67, 104.06)],
)
def test_invalid_coordinates(chengdu: RoadGraph, lon: float, lat: float) -> None:
    with pytest.raises(InvalidCoordinate) as info:
        chengdu.snap(lon, lat)
    assert info.value.code == "invalid_coordinate"


@pytest.mark.parametrize("radius", [0.0, -5.0, math.nan, math.inf])
def test_invalid_snap_radius(chengdu: RoadGraph, radius: float) -> None:
    with pytest.raises(InvalidArgument):
        chengdu.snap(104.07, 30.67, max_distance_m=radius)


def test_swapped_hint(chengdu: RoadGraph) -> None:
    with pytest.raises(InvalidCoordinate, match="swap"):
        chengdu.snap(30.67, 104.06)


def test_off_network(chengdu: RoadGraph) -> None:
    with pytest.raises(OffNetwork) as info:
        chengdu.snap(0.5, 0.5)
    assert info.value.code == "off_network"
    assert "outside the loaded area" in info.value.message
    x0, y0, x1, _y1 = chengdu.bbox
    # a point ~1.1 km south of the network: refused at 500 m, accepted at 2 km
    lat = y0 - 0.01
    with pytest.raises(OffNetwork):
        chengdu.snap((x0 + x1) / 2, lat)
    s = chengdu.snap((x0 + x1) / 2, lat, max_distance_m=2000)
    assert 1000 < s.distance_m < 2000


def test_points_exactly_at_nodes_of_oneway_pieces(tmp_path: Path) -> None:
    """A point at the start/end node of a one-way piece still connects to every road at that node."""
    nodes = {1: (104.000, 30.6), 2: (104.001, 30.6), 3: (104.002, 30.6), 4: (104.001, 30.601)}
    ways = [
        (1, [2, 3], {"highway": "residential", "oneway": "yes"}),  # first: wins snapping ties
        (2, [1, 2], {"highway": "residential"}),
        (3, [3, 4, 1], {"highway": "residential"}),
    ]
    g = RoadGraph.build(write_osm(tmp_path / "n.osm", nodes, ways))
    at2 = g.snap(*nodes[2])
    assert at2.distance_m == 0 and at2.offset_m == 0.0  # start of the one-way piece 2→3
    at1 = g.snap(*nodes[1])
    assert g.route(at2, at1, Metric.DISTANCE).meters == pytest.approx(hav(*nodes[2], *nodes[1]), rel=1e-9)
    assert float(g.one_to_many(at2, [at1], Metric.DISTANCE)[0]) == pytest.approx(hav(*nodes[2], *nodes[1]))
    at3 = g.snap(*nodes[3])
    assert at3.offset_m == pytest.approx(at3.edge_length_m)  # end of the one-way piece 2→3
    at4 = g.snap(*nodes[4])
    d43 = hav(*nodes[4], *nodes[3])
    assert g.route(at4, at3, Metric.DISTANCE).meters == pytest.approx(d43, rel=1e-9)
    assert float(g.many_to_one([at4], at3, Metric.DISTANCE)[0]) == pytest.approx(d43, rel=1e-9)
    d23 = hav(*nodes[2], *nodes[3])
    assert g.k_fastest([at4, at2], at3, 2, Metric.DISTANCE) == [
        (1, pytest.approx(d23, rel=1e-9)),
        (0, pytest.approx(d43, rel=1e-9)),
    ]


def test_pbf_gives_the_same_graph(tmp_path: Path) -> None:
    """The same network read from .osm.pbf (written here with pyosmium) equals the XML import."""
    import osmium

    src = data_file(TEST_DATA / "shenzhen" / "nanshan_osm_2021-03-17.osm")
    pbf = tmp_path / "nanshan.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(src)):
            writer.add(obj)
    a = RoadGraph.build(src)
    b = RoadGraph.build(pbf)
    assert (a.n_nodes, a.n_edges, a.n_pieces) == (b.n_nodes, b.n_edges, b.n_pieces)
    np.testing.assert_allclose(a.edge_time, b.edge_time, rtol=1e-12)
    assert np.array_equal(a.a["fadj"], b.a["fadj"])
