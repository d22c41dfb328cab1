"""The travel-time tables the simulation looks up equal the routing engine's own queries, and the shared
unit ranking orders as dispatch always did."""

from __future__ import annotations

import numpy as np

from jingwu.routing.domain import Metric
from jingwu.routing.ranking import rank_units


def test_node_costs_equal_matrix_and_many_to_one(city):
    g = city["car"]
    rng = np.random.default_rng(4)
    src = [g.snap(float(g.node_lon[i]) + 1e-5, float(g.node_lat[i])) for i in rng.choice(g.n_nodes, 6)]
    nodes = rng.choice(g.n_nodes, 40, replace=False)
    targets = [g.snap(float(g.node_lon[i]), float(g.node_lat[i])) for i in nodes]
    fwd = g.node_costs(src)
    back = g.node_costs(src, reverse=True)
    assert fwd.shape == (6, g.n_nodes)
    np.testing.assert_allclose(fwd[:, nodes], g.matrix(src, targets, Metric.TIME), rtol=1e-9, atol=1e-6)
    for i, s in enumerate(src):
        np.testing.assert_allclose(back[i, nodes], g.many_to_one(targets, s), rtol=1e-9, atol=1e-6)
    # one-way streets: there and back differ somewhere
    assert np.abs(fwd - back)[np.isfinite(fwd) & np.isfinite(back)].max() > 1


def test_node_costs_bounded(city):
    g = city["car"]
    s = [g.snap(float(g.node_lon[0]), float(g.node_lat[0]))]
    full = g.node_costs(s)[0]
    cut = g.node_costs(s, max_cost=120.0)[0]
    assert np.array_equal(np.isfinite(cut), full <= 120.0)
    np.testing.assert_array_equal(cut[np.isfinite(cut)], full[full <= 120.0])


def test_rank_units_is_the_dispatch_order():
    rng = np.random.default_rng(9)
    for _ in range(200):
        n = int(rng.integers(1, 12))
        eta = np.where(rng.random(n) < 0.2, np.inf, rng.integers(0, 5, n).astype(float))
        av, sc, mt = (rng.random(n) < 0.6 for _ in range(3))
        # dispatch's former rule: sorted((busy, out of scope, not on run card, eta)), stable
        expected = sorted(range(n), key=lambda i: (not av[i], not sc[i], not mt[i], eta[i]))
        assert rank_units(eta, available=av, in_scope=sc, matches=mt).tolist() == expected
        assert rank_units(eta).tolist() == sorted(range(n), key=lambda i: eta[i])
