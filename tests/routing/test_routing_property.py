"""Property test: on small random road networks every query equals networkx Dijkstra on the reference."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from jingwu.routing.domain import Metric, NoDrivableRoads, Unreachable
from jingwu.routing.graph import RoadGraph
from routing.osm_builder import write_osm
from routing.routing_reference import Reference, parse

CLASSES = ["primary", "secondary", "residential", "service", "trunk"]


def _random_network(path: Path, seed: int, n_nodes: int, n_ways: int) -> Path:
    rng = np.random.default_rng(seed)
    nodes = {i + 1: (104.0 + float(rng.uniform(0, 0.01)), 30.6 + float(rng.uniform(0, 0.01))) for i in range(n_nodes)}
    used: set[tuple[int, int]] = set()
    ways = []
    for w in range(n_ways):
        walk = [int(rng.integers(1, n_nodes + 1))]
        for _ in range(int(rng.integers(1, 5))):
            nxt = int(rng.integers(1, n_nodes + 1))
            pair = (min(walk[-1], nxt), max(walk[-1], nxt))
            if nxt == walk[-1] or pair in used:
                continue
            used.add(pair)
            walk.append(nxt)
        if len(walk) < 2:
            continue
        tags = {"highway": CLASSES[int(rng.integers(0, len(CLASSES)))]}
        r = rng.random()
        if r < 0.25:
            tags["oneway"] = "yes"
        elif r < 0.35:
            tags["oneway"] = "-1"
        if rng.random() < 0.2:
            tags["maxspeed"] = str(int(rng.integers(20, 80)))
        ways.append((w + 1, walk, tags))
    return write_osm(path, nodes, ways)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**31 - 1),
    n_nodes=st.integers(3, 14),
    n_ways=st.integers(2, 16),
    n_points=st.integers(2, 7),
    k=st.integers(1, 4),
)
def test_random_networks_match_networkx(
    tmp_path: Path, seed: int, n_nodes: int, n_ways: int, n_points: int, k: int
) -> None:
    path = _random_network(tmp_path / f"r{seed}.osm", seed, n_nodes, n_ways)
    try:
        graph = RoadGraph.build(path)
    except NoDrivableRoads:
        assume(False)
        return
    ref = Reference(parse(path))
    # equal-sized largest components may be chosen differently; that is not what this test is about
    assume(set(graph.a["node_osm"].tolist()) <= set(ref.g.nodes))
    rng = np.random.default_rng(seed + 1)
    x0, y0, x1, y1 = graph.bbox
    pts = [
        (float(rng.uniform(x0 - 0.001, x1 + 0.001)), float(rng.uniform(y0 - 0.001, y1 + 0.001)))
        for _ in range(n_points)
    ]
    snaps = [graph.snap(lon, lat, max_distance_m=1e6) for lon, lat in pts]
    g, nodes = ref.insert_points(pts)
    for metric, weight in ((Metric.TIME, "time"), (Metric.DISTANCE, "length")):
        expect = np.full((n_points, n_points), math.inf)
        for i in range(n_points):
            d = nx.single_source_dijkstra_path_length(g, nodes[i], weight=weight)
            for j in range(n_points):
                expect[i, j] = d.get(nodes[j], math.inf)
        m = graph.matrix(snaps, snaps, metric, threads=1)
        np.testing.assert_allclose(m, expect, rtol=1e-9, atol=1e-6)
        for j in range(n_points):
            np.testing.assert_allclose(graph.many_to_one(snaps, snaps[j], metric), expect[:, j], rtol=1e-9, atol=1e-6)
            np.testing.assert_allclose(graph.one_to_many(snaps[j], snaps, metric), expect[j], rtol=1e-9, atol=1e-6)
            got = graph.k_fastest(snaps, snaps[j], k, metric)
            want = sorted(c for c in expect[:, j] if math.isfinite(c))[:k]
            np.testing.assert_allclose([c for _, c in got], want, rtol=1e-9, atol=1e-6)
            for idx, c in got:
                assert math.isclose(c, expect[idx, j], rel_tol=1e-9, abs_tol=1e-6)
        for i in range(n_points):
            for j in range(n_points):
                if math.isfinite(expect[i, j]):
                    r = graph.route(snaps[i], snaps[j], metric)
                    got_cost = r.seconds if metric == Metric.TIME else r.meters
                    assert math.isclose(got_cost, expect[i, j], rel_tol=1e-9, abs_tol=1e-6)
                else:
                    with pytest.raises(Unreachable):
                        graph.route(snaps[i], snaps[j], metric)
