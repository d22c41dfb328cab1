"""Every query type against an independent networkx Dijkstra on real Chengdu and Shenzhen OSM data."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest
from shapely.geometry import Point, shape

from jingwu.routing.domain import Metric, OffNetwork, Snap
from jingwu.routing.graph import RoadGraph
from routing.routing_reference import R, Reference, hav

City = tuple[str, RoadGraph, Reference]
REL = 1e-9
ABS = 1e-6


def _points(graph: RoadGraph, n: int, seed: int) -> list[tuple[Snap, tuple[float, float]]]:
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


def _close(a: float, b: float) -> bool:
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=REL, abs_tol=ABS)


def _weight(metric: Metric) -> str:
    return "time" if metric == Metric.TIME else "length"


def test_graph_matches_reference_segments(city: City) -> None:
    """Same directed road segments as the every-node reference (overlapping OSM ways count once)."""
    _, graph, ref = city
    eng = set()
    for e in range(graph.n_edges):
        pts = graph._edge_coords(e)
        eng.update(itertools.pairwise(pts))
    want = {(ref.coords[u], ref.coords[v]) for u, v in ref.g.edges}
    assert eng == want
    assert set(graph.a["node_osm"].tolist()) <= set(ref.g.nodes)


def test_snap_is_nearest_segment(city: City) -> None:
    _, graph, ref = city
    for snap, (lon, lat) in _points(graph, 150, seed=1):
        _, _, d_ref = ref.nearest(lon, lat)
        ky = R * math.pi / 180.0
        kx = ky * math.cos(math.radians(lat))
        d_eng = math.hypot((snap.snapped_lon - lon) * kx, (snap.snapped_lat - lat) * ky)
        assert d_eng == pytest.approx(d_ref, abs=1e-6)
        assert snap.distance_m == pytest.approx(d_ref, rel=2e-3, abs=1e-6)
        assert 0.0 <= snap.offset_m <= snap.edge_length_m


@pytest.mark.parametrize("metric", list(Metric))
def test_route_one_to_one(city: City, metric: Metric) -> None:
    _, graph, ref = city
    pts = _points(graph, 60, seed=2)
    g, nodes = ref.insert_points([p for _, p in pts])
    w = _weight(metric)
    for i in range(0, 60, 2):
        a, b = pts[i][0], pts[i + 1][0]
        try:
            expected = nx.dijkstra_path_length(g, nodes[i], nodes[i + 1], weight=w)
        except nx.NetworkXNoPath:
            expected = math.inf
        r = graph.route(a, b, metric)
        got = r.seconds if metric == Metric.TIME else r.meters
        assert _close(got, expected), (i, got, expected)
        coords = r.geometry["coordinates"]
        assert coords[0] == pytest.approx([a.snapped_lon, a.snapped_lat], abs=1e-6)
        assert coords[-1] == pytest.approx([b.snapped_lon, b.snapped_lat], abs=1e-6)
        geo_len = sum(hav(*coords[j], *coords[j + 1]) for j in range(len(coords) - 1))
        assert geo_len == pytest.approx(r.meters, rel=1e-3, abs=0.5)


def test_route_same_point_and_same_piece(city: City) -> None:
    _, graph, ref = city
    snap, p = _points(graph, 1, seed=3)[0]
    assert graph.route(snap, snap).seconds == 0.0
    # a second point further along the same piece
    length = snap.edge_length_m
    other_off = min(length, snap.offset_m + 0.5 * (length - snap.offset_m))
    lon, lat = graph._point_at(snap.edge, other_off)
    other = graph.snap(lon, lat, max_distance_m=1.0)
    g, nodes = ref.insert_points([p, (lon, lat)])
    for metric in Metric:
        exp_ab = nx.dijkstra_path_length(g, nodes[0], nodes[1], weight=_weight(metric))
        exp_ba = nx.dijkstra_path_length(g, nodes[1], nodes[0], weight=_weight(metric))
        assert _close(float(graph.one_to_many(snap, [other], metric)[0]), exp_ab)
        assert _close(float(graph.one_to_many(other, [snap], metric)[0]), exp_ba)
        r = graph.route(other, snap, metric)
        assert _close(r.seconds if metric == Metric.TIME else r.meters, exp_ba)


@pytest.mark.parametrize("metric", list(Metric))
def test_one_to_many_and_many_to_one(city: City, metric: Metric) -> None:
    _, graph, ref = city
    pts = _points(graph, 121, seed=4)
    g, nodes = ref.insert_points([p for _, p in pts])
    w = _weight(metric)
    src, others = pts[0][0], [s for s, _ in pts[1:]]
    fwd = nx.single_source_dijkstra_path_length(g, nodes[0], weight=w)
    rev = nx.single_source_dijkstra_path_length(g.reverse(copy=False), nodes[0], weight=w)
    got_f = graph.one_to_many(src, others, metric)
    got_r = graph.many_to_one(others, src, metric)
    for j in range(120):
        assert _close(float(got_f[j]), fwd.get(nodes[j + 1], math.inf)), j
        assert _close(float(got_r[j]), rev.get(nodes[j + 1], math.inf)), j


@pytest.mark.parametrize("metric", list(Metric))
def test_k_fastest(city: City, metric: Metric) -> None:
    _, graph, ref = city
    rng = np.random.default_rng(5)
    pts = _points(graph, 215, seed=5)
    g, nodes = ref.insert_points([p for _, p in pts])
    rg = g.reverse(copy=False)
    w = _weight(metric)
    units = [s for s, _ in pts[15:]]
    for t in range(15):
        k = int(rng.integers(1, 12))
        n_units = int(rng.integers(k, 200))
        chosen = sorted(rng.choice(200, size=n_units, replace=False).tolist())
        sub = [units[i] for i in chosen]
        d = nx.single_source_dijkstra_path_length(rg, nodes[t], weight=w)
        exp = sorted(d.get(nodes[15 + i], math.inf) for i in chosen)
        exp = [c for c in exp if math.isfinite(c)][:k]
        got = graph.k_fastest(sub, pts[t][0], k, metric)
        assert len(got) == len(exp)
        for (idx, cost), e in zip(got, exp, strict=True):
            assert _close(cost, e)
            assert _close(cost, d.get(nodes[15 + chosen[idx]], math.inf))
        assert [c for _, c in got] == sorted(c for _, c in got)


def test_matrix(city: City) -> None:
    _, graph, ref = city
    pts = _points(graph, 40, seed=6)
    g, nodes = ref.insert_points([p for _, p in pts])
    srcs, tgts = [s for s, _ in pts[:10]], [s for s, _ in pts[10:]]
    m = graph.matrix(srcs, tgts, Metric.TIME)
    m1 = graph.matrix(srcs, tgts, Metric.TIME, threads=1)
    assert np.array_equal(m, m1)
    for i in range(10):
        d = nx.single_source_dijkstra_path_length(g, nodes[i], weight="time")
        for j in range(30):
            assert _close(float(m[i, j]), d.get(nodes[10 + j], math.inf))


def test_nearest_source_partition(city: City) -> None:
    _, graph, ref = city
    pts = _points(graph, 8, seed=7)
    g, nodes = ref.insert_points([p for _, p in pts])
    part = graph.nearest_source_partition([s for s, _ in pts])
    dists = [nx.single_source_dijkstra_path_length(g, nodes[i], weight="time") for i in range(8)]
    osm = graph.a["node_osm"]
    for v in range(graph.n_nodes):
        costs = [d.get(int(osm[v]), math.inf) for d in dists]
        best = min(costs)
        if math.isinf(best):
            assert part[v] == -1
        else:
            assert _close(costs[int(part[v])], best)


def test_isochrone_covers_reached_roads(city: City) -> None:
    _, graph, ref = city
    snap, p = _points(graph, 1, seed=8)[0]
    g, nodes = ref.insert_points([p])
    minutes = 4.0
    poly = shape(graph.isochrone(snap, minutes))
    assert poly.is_valid and not poly.is_empty
    assert poly.buffer(1e-6).contains(Point(snap.snapped_lon, snap.snapped_lat))
    d = nx.single_source_dijkstra_path_length(g, nodes[0], weight="time")
    inside = outside = 0
    for node, t in d.items():
        if isinstance(node, tuple):
            continue
        pt = Point(*ref.coords[node])
        if t <= minutes * 60:
            assert poly.buffer(1e-5).contains(pt), (node, t)
            inside += 1
        elif t > 3 * minutes * 60 and poly.contains(pt):
            outside += 1
    assert inside > 0
    # a few far nodes may fall into the 60 m buffer or a filled hole, not many
    assert outside <= 0.02 * len(d)


def test_snap_batch_gives_identical_answers(city: City) -> None:
    _, graph, _ = city
    pts = [s for s, _ in _points(graph, 60, seed=9)]
    units, targets = pts[:50], pts[50:]
    batch = graph.prepare(units)
    assert len(batch) == 50 and batch[3] == units[3]
    for metric in Metric:
        for t in targets:
            assert graph.k_fastest(batch, t, 5, metric) == graph.k_fastest(units, t, 5, metric)
            assert np.array_equal(graph.many_to_one(batch, t, metric), graph.many_to_one(units, t, metric))
        assert np.array_equal(graph.matrix(batch, targets, metric), graph.matrix(units, targets, metric))
        assert np.array_equal(
            graph.one_to_many(targets[0], batch, metric), graph.one_to_many(targets[0], units, metric)
        )
        assert np.array_equal(
            graph.nearest_source_partition(batch[:5], metric), graph.nearest_source_partition(units[:5], metric)
        )


def test_max_cost_bounds_results(city: City) -> None:
    _, graph, _ = city
    pts = [s for s, _ in _points(graph, 80, seed=10)]
    src, others = pts[0], pts[1:]
    full = graph.one_to_many(src, others)
    bound = float(np.median(full[np.isfinite(full)]))
    cut = graph.one_to_many(src, others, max_cost=bound)
    assert np.array_equal(cut, np.where(full <= bound, full, np.inf))
    full_r = graph.many_to_one(others, src)
    cut_r = graph.many_to_one(others, src, max_cost=bound)
    assert np.array_equal(cut_r, np.where(full_r <= bound, full_r, np.inf))
    m = graph.matrix(pts[:5], others, max_cost=bound)
    mf = graph.matrix(pts[:5], others)
    assert np.array_equal(m, np.where(mf <= bound, mf, np.inf))
