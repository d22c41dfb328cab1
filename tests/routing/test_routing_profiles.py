"""Travel profiles (car, motorbike, bicycle, foot): access, one-way rules and speeds of each mode's own
graph, on hand-made networks and on the Chengdu and Shenzhen extracts, against an independent networkx
reference; the car graph is the one the unchanged importer builds."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import pytest

from jingwu.routing.domain import InvalidArgument, Metric, NoDrivableRoads, OffNetwork, Snap
from jingwu.routing.graph import RoadGraph
from jingwu.routing.osm_import import BOTH, BWD, DENIED, FWD, HIGHWAY_CLASSES, SPEED_KMH, read_osm
from jingwu.routing.profiles import (
    BICYCLE,
    BICYCLE_KMH,
    CAR,
    FOOT,
    FOOT_KMH,
    MOTORBIKE,
    MOTORBIKE_MAX_KMH,
    PROFILES,
    get_profile,
)
from routing.conftest import CITIES
from routing.osm_builder import write_osm
from routing.routing_reference import Reference, hav, parse
from support import data_file

FOOT_MS = FOOT_KMH / 3.6


# ---------------------------------------------------------------------------------------- tag rules
@pytest.mark.parametrize(
    ("tags", "car", "motorbike", "bicycle", "foot"),
    [
        ({"highway": "footway"}, None, None, None, BOTH),
        ({"highway": "steps"}, None, None, None, BOTH),
        ({"highway": "pedestrian"}, None, None, None, BOTH),
        ({"highway": "footway", "bicycle": "yes"}, None, None, BOTH, BOTH),
        ({"highway": "path"}, None, None, None, BOTH),
        ({"highway": "path", "bicycle": "designated"}, None, None, BOTH, BOTH),
        ({"highway": "cycleway"}, None, None, BOTH, None),
        ({"highway": "cycleway", "foot": "yes"}, None, None, BOTH, BOTH),
        ({"highway": "motorway"}, FWD, FWD, None, None),
        ({"highway": "motorway", "bicycle": "yes"}, FWD, FWD, None, None),
        ({"highway": "trunk"}, BOTH, BOTH, None, None),
        ({"highway": "trunk", "bicycle": "yes", "foot": "yes"}, BOTH, BOTH, BOTH, BOTH),
        ({"highway": "primary", "oneway": "yes"}, FWD, FWD, FWD, BOTH),
        ({"highway": "primary", "sidewalk": "no"}, BOTH, BOTH, BOTH, DENIED),
        ({"highway": "primary", "foot": "no"}, BOTH, BOTH, BOTH, DENIED),
        ({"highway": "primary", "bicycle": "no"}, BOTH, BOTH, DENIED, BOTH),
        ({"highway": "residential", "oneway": "yes", "oneway:bicycle": "no"}, FWD, FWD, BOTH, BOTH),
        ({"highway": "residential", "oneway": "yes", "cycleway": "opposite_lane"}, FWD, FWD, BOTH, BOTH),
        ({"highway": "residential", "oneway": "-1"}, BWD, BWD, BWD, BOTH),
        ({"highway": "residential", "junction": "roundabout"}, FWD, FWD, FWD, BOTH),
        ({"highway": "residential", "oneway:foot": "yes"}, BOTH, BOTH, BOTH, FWD),
        ({"highway": "service", "access": "no"}, DENIED, DENIED, DENIED, DENIED),
        ({"highway": "service", "access": "no", "foot": "yes"}, DENIED, DENIED, DENIED, BOTH),
        ({"highway": "service", "motor_vehicle": "no"}, DENIED, DENIED, BOTH, BOTH),
        ({"highway": "service", "motorcycle": "no"}, BOTH, DENIED, BOTH, BOTH),
        ({"highway": "service", "access": "private"}, BOTH, BOTH, BOTH, BOTH),
        ({"highway": "footway", "area": "yes"}, None, None, None, None),
        ({"highway": "bus_stop"}, None, None, None, None),
    ],
)
def test_access_and_direction_table(tags: dict[str, str], car: object, motorbike: object, bicycle: object,
                                    foot: object) -> None:
    """The access table of docs/methods/routing.md §9, row by row."""
    for profile, want in ((CAR, car), (MOTORBIKE, motorbike), (BICYCLE, bicycle), (FOOT, foot)):
        got = profile.classify(tags)
        direction = got[0] if isinstance(got, tuple) else got
        assert direction == want, (profile.name, tags, got)


def test_speeds() -> None:
    # foot: 5 km/h everywhere; bicycle: 15 km/h, never faster than the road's own speed; motorbike: car capped
    assert FOOT.classify({"highway": "primary", "maxspeed": "60"}) == (BOTH, 5.0)
    assert FOOT.classify({"highway": "steps"}) == (BOTH, 5.0)
    assert BICYCLE.classify({"highway": "primary"}) == (BOTH, 15.0)
    assert BICYCLE.classify({"highway": "living_street"}) == (BOTH, SPEED_KMH["living_street"])
    assert BICYCLE.classify({"highway": "residential", "maxspeed": "8"}) == (BOTH, 8.0)
    assert BICYCLE.classify({"highway": "cycleway"}) == (BOTH, 15.0)
    assert MOTORBIKE.classify({"highway": "primary", "maxspeed": "100"}) == (BOTH, 80.0)
    assert MOTORBIKE.classify({"highway": "primary"}) == (BOTH, SPEED_KMH["primary"])
    assert CAR.classify({"highway": "primary", "maxspeed": "100"}) == (BOTH, 100.0)


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        get_profile("horse")


# ---------------------------------------------------------------------------------------- hand-made networks
LAT0 = 30.6


def _p(x: float, y: float) -> tuple[float, float]:
    return (104.0 + x * 0.001, LAT0 + y * 0.001)


@pytest.fixture
def shortcut_osm(tmp_path: Path) -> Path:
    """Two streets joined by a 2-segment footway (via node 9) and, for cars, by a long residential detour.

    1 -- 2 ~footway~ 9 ~footway~ 3 -- 4 ; detour 2 - 5 - 6 - 7 - 3 (goes 4 blocks north and back);
    one-way street 4 -> 8 (oneway=yes) with a two-way return 8 - 10 - 4."""
    nodes = {1: _p(0, 0), 2: _p(1, 0), 9: _p(1.5, 0), 3: _p(2, 0), 4: _p(3, 0), 5: _p(1, 4), 6: _p(1.5, 4),
             7: _p(2, 4), 8: _p(4, 0), 10: _p(3.5, 1)}
    ways = [
        (101, [1, 2], {"highway": "residential"}),
        (102, [2, 9, 3], {"highway": "footway"}),
        (103, [3, 4], {"highway": "residential"}),
        (104, [2, 5, 6, 7, 3], {"highway": "residential"}),
        (105, [4, 8], {"highway": "residential", "oneway": "yes"}),
        (106, [8, 10, 4], {"highway": "residential"}),
    ]
    return write_osm(tmp_path / "shortcut.osm", nodes, ways)


def _graphs(path: Path) -> dict[str, RoadGraph]:
    return {m: RoadGraph.build(path, mode=m) for m in PROFILES}


def test_footway_is_walked_and_never_driven(shortcut_osm: Path) -> None:
    g = _graphs(shortcut_osm)
    a_xy, b_xy = _p(0.5, 0), _p(2.5, 0)
    foot = g["foot"].route(g["foot"].snap(*a_xy), g["foot"].snap(*b_xy), Metric.DISTANCE)
    car = g["car"].route(g["car"].snap(*a_xy), g["car"].snap(*b_xy), Metric.DISTANCE)
    straight = hav(*a_xy, *_p(1, 0)) + hav(*_p(1, 0), *_p(1.5, 0)) + hav(*_p(1.5, 0), *_p(2, 0)) + hav(*_p(2, 0), *b_xy)
    detour = (hav(*a_xy, *_p(1, 0)) + hav(*_p(1, 0), *_p(1, 4)) + hav(*_p(1, 4), *_p(1.5, 4))
              + hav(*_p(1.5, 4), *_p(2, 4)) + hav(*_p(2, 4), *_p(2, 0)) + hav(*_p(2, 0), *b_xy))
    assert foot.meters == pytest.approx(straight, rel=1e-9)
    assert car.meters == pytest.approx(detour, rel=1e-9)
    assert [round(c, 7) for c in _p(1.5, 0)] in foot.geometry["coordinates"]  # the footway's middle node
    assert [round(c, 7) for c in _p(1.5, 0)] not in car.geometry["coordinates"]
    for m in ("car", "motorbike"):
        assert 102 not in set(g[m].a["piece_way"].tolist())
    assert 102 in set(g["foot"].a["piece_way"].tolist())
    assert 102 not in set(g["bicycle"].a["piece_way"].tolist())  # a footway without bicycle=yes


def test_one_way_street_is_walked_both_ways_and_driven_one_way(shortcut_osm: Path) -> None:
    g = _graphs(shortcut_osm)
    a_xy, b_xy = _p(3.25, 0), _p(3.75, 0)  # on the one-way street 4 -> 8
    along = hav(*a_xy, *b_xy)
    back_by_road = (hav(*a_xy, *_p(3, 0)) + hav(*_p(3, 0), *_p(3.5, 1)) + hav(*_p(3.5, 1), *_p(4, 0))
                    + hav(*_p(4, 0), *b_xy))
    for mode in ("car", "motorbike", "bicycle"):
        gr = g[mode]
        a, b = gr.snap(*a_xy), gr.snap(*b_xy)
        assert gr.route(a, b, Metric.DISTANCE).meters == pytest.approx(along, rel=1e-9), mode
        # against the one-way: round the return road (b -> 8 -> 10 -> 4 -> a)
        assert gr.route(b, a, Metric.DISTANCE).meters == pytest.approx(back_by_road, rel=1e-9), mode
    gf = g["foot"]
    a, b = gf.snap(*a_xy), gf.snap(*b_xy)
    assert gf.route(a, b, Metric.DISTANCE).meters == pytest.approx(along, rel=1e-9)
    assert gf.route(b, a, Metric.DISTANCE).meters == pytest.approx(along, rel=1e-9)


def test_bicycle_contraflow_and_motorway(tmp_path: Path) -> None:
    """A bicycle rides against a one-way street only where oneway:bicycle=no; never on a motorway shortcut."""
    nodes = {1: _p(0, 0), 2: _p(2, 0), 3: _p(0, 1), 4: _p(2, 1), 5: _p(1, 3)}
    ways = [
        (1, [1, 2], {"highway": "residential", "oneway": "yes", "oneway:bicycle": "no"}),
        (2, [3, 4], {"highway": "motorway", "oneway": "no"}),
        (3, [1, 3], {"highway": "residential"}),
        (4, [2, 4], {"highway": "residential"}),
        (5, [3, 5, 4], {"highway": "residential"}),
    ]
    path = write_osm(tmp_path / "bike.osm", nodes, ways)
    g = _graphs(path)
    a_xy, b_xy = _p(0.5, 0), _p(1.5, 0)
    bike, car = g["bicycle"], g["car"]
    assert bike.route(bike.snap(*b_xy), bike.snap(*a_xy), Metric.DISTANCE).meters == pytest.approx(
        hav(*a_xy, *b_xy), rel=1e-9)
    assert car.route(car.snap(*b_xy), car.snap(*a_xy), Metric.DISTANCE).meters > 2 * hav(*a_xy, *b_xy)
    # from the west end of the motorway to its east end: the car takes it, the bicycle goes round by 5
    s, t = _p(0, 1), _p(2, 1)
    assert car.route(car.snap(*s), car.snap(*t), Metric.DISTANCE).meters == pytest.approx(hav(*s, *t), rel=1e-9)
    round_by_5 = hav(*s, *_p(1, 3)) + hav(*_p(1, 3), *t)
    # the bicycle's shortest way: by the residential streets 3-1-2-4 (shorter than round by 5)
    by_1_2 = hav(*s, *_p(0, 0)) + hav(*_p(0, 0), *_p(2, 0)) + hav(*_p(2, 0), *t)
    assert bike.route(bike.snap(*s), bike.snap(*t), Metric.DISTANCE).meters == pytest.approx(
        min(round_by_5, by_1_2), rel=1e-9)
    assert HIGHWAY_CLASSES.index("motorway") not in set(bike.a["piece_highway"].tolist())


def test_a_profile_without_usable_ways_says_so(tmp_path: Path) -> None:
    path = write_osm(tmp_path / "m.osm", {1: _p(0, 0), 2: _p(1, 0)},
                     [(1, [1, 2], {"highway": "motorway", "oneway": "no"})])
    with pytest.raises(NoDrivableRoads, match="pedestrians"):
        RoadGraph.build(path, mode="foot")
    RoadGraph.build(path, mode="car")


# ---------------------------------------------------------------------------------------- real extracts
@pytest.fixture(scope="module", params=sorted(CITIES))
def city_modes(request: pytest.FixtureRequest, graph_cache: Path) -> Iterator[tuple[str, Path, dict[str, RoadGraph]]]:
    name = str(request.param)
    path = data_file(CITIES[name])
    yield name, path, {m: RoadGraph.load_or_build(path, graph_cache, mode=m) for m in PROFILES}


def _way_tags(path: Path) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = {}
    for obj in osmium.FileProcessor(str(path), osmium.osm.WAY):
        tags = {t.k: t.v for t in obj.tags}
        if "highway" in tags:
            out[obj.id] = tags
    return out


def test_car_graph_is_the_unchanged_importers(city_modes: tuple[str, Path, dict[str, RoadGraph]]) -> None:
    """The car graph (cached, as served) has exactly the arrays the pre-profile importer path builds, and the
    car profile's stated rule gives the same graph."""
    _, path, g = city_modes
    old = RoadGraph.from_pieces(read_osm(path))  # the importer's own drivable rule: no profile involved
    as_profile = RoadGraph.from_pieces(read_osm(path, profile=CAR))
    for other in (old, as_profile):
        assert set(other.a) == set(g["car"].a)
        for k, v in other.a.items():
            assert v.dtype == g["car"].a[k].dtype and np.array_equal(v, g["car"].a[k]), k
    assert HIGHWAY_CLASSES[: len(SPEED_KMH)] == tuple(SPEED_KMH)  # the car graph's highway codes are unchanged
    assert RoadGraph.cache_path(path, Path("/x")).name.count(".") == 2  # <stem>-<sha>.v<N>.npz, as before


def test_each_mode_has_its_own_cache_file(city_modes: tuple[str, Path, dict[str, RoadGraph]],
                                          graph_cache: Path) -> None:
    _, path, g = city_modes
    names = {m: RoadGraph.cache_path(path, graph_cache, m) for m in PROFILES}
    assert len(set(names.values())) == 4 and all(p.exists() for p in names.values())
    for m in ("foot", "bicycle", "motorbike"):
        assert f".{m}." in names[m].name
        again = RoadGraph.load(names[m], m)
        assert again.mode == m and np.array_equal(again.a["fadj"], g[m].a["fadj"])


def test_footways_are_in_the_foot_graph_only(city_modes: tuple[str, Path, dict[str, RoadGraph]]) -> None:
    _, path, g = city_modes
    tags = _way_tags(path)
    walk_only = {w for w, t in tags.items() if t["highway"] in {"footway", "steps", "pedestrian"}
                 and t.get("area") != "yes" and t.get("bicycle") not in {"yes", "designated", "permissive"}}
    foot_ways = set(g["foot"].a["piece_way"].tolist())
    assert walk_only & foot_ways  # the extract has footways and the foot graph uses them
    for m in ("car", "motorbike", "bicycle"):
        assert not (walk_only & set(g[m].a["piece_way"].tolist())), m
    # a footway that connects two car-graph nodes: walking it is shorter than any drive between its ends
    car, foot = g["car"], g["foot"]
    car_nodes = {int(o): i for i, o in enumerate(car.a["node_osm"].tolist())}
    found = 0
    for p in np.flatnonzero(np.isin(foot.a["piece_way"], list(walk_only))):
        u_osm = int(foot.a["node_osm"][foot.piece_u[p]])
        v_osm = int(foot.a["node_osm"][foot.piece_v[p]])
        if u_osm not in car_nodes or v_osm not in car_nodes or u_osm == v_osm:
            continue
        cu, cv = car_nodes[u_osm], car_nodes[v_osm]
        c_u = car.snap(float(car.node_lon[cu]), float(car.node_lat[cu]), 1.0)
        c_v = car.snap(float(car.node_lon[cv]), float(car.node_lat[cv]), 1.0)
        f_u = foot.snap(float(car.node_lon[cu]), float(car.node_lat[cu]), 1.0)
        f_v = foot.snap(float(car.node_lon[cv]), float(car.node_lat[cv]), 1.0)
        walk = float(foot.one_to_many(f_u, [f_v], Metric.DISTANCE)[0])
        drive = float(car.one_to_many(c_u, [c_v], Metric.DISTANCE)[0])
        assert walk <= float(foot.piece_len[p]) * (1 + 1e-9)
        if walk < drive - 1.0:
            found += 1
    assert found > 0


def test_one_way_streets_are_walked_both_ways(city_modes: tuple[str, Path, dict[str, RoadGraph]]) -> None:
    _, path, g = city_modes
    tags = _way_tags(path)
    car, foot = g["car"], g["foot"]
    one_way = np.flatnonzero(car.a["piece_dir"] != BOTH)
    assert one_way.size > 0
    foot_dir = {}
    for w, d in zip(foot.a["piece_way"].tolist(), foot.a["piece_dir"].tolist(), strict=True):
        foot_dir.setdefault(w, set()).add(d)
    for p in one_way:
        w = int(car.a["piece_way"][p])
        if w in foot_dir:  # walkable: in both directions unless oneway:foot says otherwise
            assert foot_dir[w] == {BOTH} or "oneway:foot" in tags[w], w
    # route level on 25 one-way pieces: between the points at 1/3 and 2/3, car goes round, foot walks straight
    rng = np.random.default_rng(11)
    checked = 0
    for p in rng.permutation(one_way):
        length = float(car.piece_len[p])
        w = int(car.a["piece_way"][p])
        if length < 30 or w not in foot_dir:
            continue
        a_xy, b_xy = car._point_at(int(p), length / 3), car._point_at(int(p), 2 * length / 3)
        a, b = car.snap(*a_xy, max_distance_m=0.01), car.snap(*b_xy, max_distance_m=0.01)
        if a.edge != p or b.edge != p:
            continue  # another road draws the same line here
        fwd = float(car.one_to_many(a, [b], Metric.DISTANCE)[0])
        back = float(car.one_to_many(b, [a], Metric.DISTANCE)[0])
        fa, fb = foot.snap(*a_xy, max_distance_m=0.01), foot.snap(*b_xy, max_distance_m=0.01)
        wf = float(foot.one_to_many(fa, [fb], Metric.DISTANCE)[0])
        wb = float(foot.one_to_many(fb, [fa], Metric.DISTANCE)[0])
        assert fwd == pytest.approx(length / 3, rel=1e-6)
        assert back > fwd + 1.0
        assert wf == pytest.approx(wb, rel=1e-9)
        assert wf <= fwd * (1 + 1e-6)  # walking against the one-way is no longer than driving with it
        checked += 1
        if checked == 25:
            break
    assert checked >= 10


def test_foot_time_is_length_over_walking_speed(city_modes: tuple[str, Path, dict[str, RoadGraph]]) -> None:
    _, _, g = city_modes
    foot = g["foot"]
    assert np.array_equal(foot.edge_time, foot.edge_len / FOOT_MS)
    snaps = _random_snaps(foot, 40, seed=3)
    for i in range(0, 40, 2):
        r = foot.route(snaps[i], snaps[i + 1], Metric.TIME)
        assert r.seconds == pytest.approx(r.meters / FOOT_MS, rel=1e-12)
        d = float(foot.one_to_many(snaps[i], [snaps[i + 1]], Metric.DISTANCE)[0])
        assert r.meters == pytest.approx(d, rel=1e-9)  # fastest walk = shortest walk


def test_bicycle_and_foot_never_use_motorways(city_modes: tuple[str, Path, dict[str, RoadGraph]]) -> None:
    name, path, g = city_modes
    tags = _way_tags(path)
    motorway = {HIGHWAY_CLASSES.index("motorway"), HIGHWAY_CLASSES.index("motorway_link")}
    if name == "chengdu":  # the Chengdu extract has motorway ramps; the car reads them (before the SCC step)
        assert any(t["highway"] in {"motorway", "motorway_link"} for t in tags.values())
        assert motorway & set(read_osm(path).piece_highway.tolist())
    for profile in (BICYCLE, FOOT):
        assert not (motorway & set(read_osm(path, profile=profile).piece_highway.tolist())), profile.name
        assert not (motorway & set(g[profile.name].a["piece_highway"].tolist())), profile.name
    for w in set(g["bicycle"].a["piece_way"].tolist()):
        t = tags[w]
        if t["highway"] in {"trunk", "trunk_link"}:
            assert t.get("bicycle") in {"yes", "designated", "permissive"}, w
        assert t.get("bicycle") not in {"no", "use_sidepath"}, w


def test_bicycle_and_motorbike_speeds(city_modes: tuple[str, Path, dict[str, RoadGraph]]) -> None:
    _, _, g = city_modes
    car, moto, bike = g["car"], g["motorbike"], g["bicycle"]
    assert np.array_equal(moto.a["piece_way"], car.a["piece_way"])  # the same drivable network here
    assert np.array_equal(moto.a["piece_speed"], np.minimum(car.a["piece_speed"], MOTORBIKE_MAX_KMH))
    assert bike.a["piece_speed"].max() <= BICYCLE_KMH
    # a bicycle is as fast as the car only where the road is slower than 15 km/h
    car_speed = dict(zip(car.a["piece_way"].tolist(), car.a["piece_speed"].tolist(), strict=True))
    for w, s in zip(bike.a["piece_way"].tolist(), bike.a["piece_speed"].tolist(), strict=True):
        if w in car_speed:
            assert s == min(BICYCLE_KMH, car_speed[w])


@pytest.mark.parametrize("mode", ["foot", "bicycle", "motorbike"])
def test_profile_graph_vs_networkx(city_modes: tuple[str, Path, dict[str, RoadGraph]], mode: str) -> None:
    """Shortest distances and fastest times on each profile's graph equal networkx Dijkstra on an independent
    every-node graph read with the same tag rule."""
    _, path, g = city_modes
    graph = g[mode]
    ref = Reference(parse(path, rule=get_profile(mode).classify))
    pts = _random_points(graph, 61, seed=21)
    rg, nodes = ref.insert_points([p for _, p in pts])
    src, others = pts[0][0], [s for s, _ in pts[1:]]
    for metric, w in ((Metric.DISTANCE, "length"), (Metric.TIME, "time")):
        want = nx.single_source_dijkstra_path_length(rg, nodes[0], weight=w)
        got = graph.one_to_many(src, others, metric)
        for j in range(60):
            exp = want.get(nodes[j + 1], math.inf)
            if math.isinf(exp):
                assert math.isinf(float(got[j]))
            else:
                assert float(got[j]) == pytest.approx(exp, rel=1e-9, abs=1e-6), (mode, metric, j)


def _random_points(graph: RoadGraph, n: int, seed: int) -> list[tuple[Snap, tuple[float, float]]]:
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = graph.bbox
    out: list[tuple[Snap, tuple[float, float]]] = []
    while len(out) < n:
        lon, lat = float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1))
        try:
            out.append((graph.snap(lon, lat), (lon, lat)))
        except OffNetwork:
            continue
    return out


def _random_snaps(graph: RoadGraph, n: int, seed: int) -> list[Snap]:
    return [s for s, _ in _random_points(graph, n, seed)]
