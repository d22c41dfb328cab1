"""Property test for turn restrictions: the node-splitting engine vs an edge-based networkx reference.

The reference searches over directed OSM segments (state = the segment just
driven), drops banned segment→segment transitions at via nodes, and so is
exact for via-node restrictions by construction, independently of how the
engine splits nodes.
"""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from jingwu.routing.domain import Metric, NoDrivableRoads
from jingwu.routing.graph import RoadGraph
from routing.edge_reference import directed_segments
from routing.osm_builder import write_osm
from routing.routing_reference import Reference, parse
from routing.test_routing_property import _random_network

TURN_TAGS = ["no_left_turn", "no_right_turn", "no_straight_on", "no_u_turn", "only_straight_on", "only_left_turn"]


def _with_restrictions(path: Path, seed: int, n: int) -> tuple[Path, list[tuple[str, int, int, int]]]:
    """Rewrite ``path`` adding up to ``n`` random via-node restrictions between ways meeting at a node."""
    import osmium

    nodes: dict[int, tuple[float, float]] = {}
    ways: list[tuple[int, list[int], dict[str, str]]] = []
    for obj in osmium.FileProcessor(str(path)):
        if isinstance(obj, osmium.osm.Node):
            nodes[obj.id] = (obj.location.lon, obj.location.lat)
        elif isinstance(obj, osmium.osm.Way):
            ways.append((obj.id, [nd.ref for nd in obj.nodes], {t.k: t.v for t in obj.tags}))
    rng = np.random.default_rng(seed)
    at_node: dict[int, list[int]] = {}
    for wid, refs, _ in ways:
        for r in set(refs):
            at_node.setdefault(r, []).append(wid)
    shared = [v for v, ws in at_node.items() if len(ws) >= 2]
    rels = []
    restrictions = []
    for i in range(n if shared else 0):
        v = shared[int(rng.integers(0, len(shared)))]
        ws = at_node[v]
        frm, to = (int(x) for x in rng.choice(ws, size=2, replace=rng.random() < 0.2))
        tag = TURN_TAGS[int(rng.integers(0, len(TURN_TAGS)))]
        rels.append(
            (i + 1, [("w", frm, "from"), ("n", v, "via"), ("w", to, "to")], {"type": "restriction", "restriction": tag})
        )
        restrictions.append((tag, frm, v, to))
    out = path.with_suffix(".r.osm")
    write_osm(out, nodes, ways, rels)
    return out, restrictions


def _segments_at(ways: dict[int, list[int]], way: int, via: int, arriving: bool) -> list[tuple[int, int]]:
    """Directed segments of ``way`` that arrive at (or leave) ``via``, in both senses of the node order."""
    refs = ways.get(way, [])
    out = []
    for i, r in enumerate(refs):
        if r != via:
            continue
        for j in (i - 1, i + 1):
            if 0 <= j < len(refs):
                out.append((refs[j], via) if arriving else (via, refs[j]))
    return out


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 1), n_nodes=st.integers(4, 12), n_ways=st.integers(3, 12), n_restr=st.integers(1, 5))
def test_restrictions_match_edge_based_reference(
    tmp_path: Path, seed: int, n_nodes: int, n_ways: int, n_restr: int
) -> None:
    base = _random_network(tmp_path / f"b{seed}.osm", seed, n_nodes, n_ways)
    path, restrictions = _with_restrictions(base, seed + 7, n_restr)
    try:
        graph = RoadGraph.build(path)
    except NoDrivableRoads:
        assume(False)
        return
    net = parse(path)
    ref = Reference(net)
    # before the strongly connected component: drivable ways and the nodes each can be driven away from
    pre = directed_segments(net)
    drivable = {w for _, _, w in pre}
    leaving = {(u, w) for u, _, w in pre}
    assume(set(graph.a["node_osm"].tolist()) <= set(ref.g.nodes))
    import osmium

    way_refs = {
        o.id: [nd.ref for nd in o.nodes] for o in osmium.FileProcessor(str(path)) if isinstance(o, osmium.osm.Way)
    }
    g = ref.g
    banned: set[tuple[tuple[int, int], tuple[int, int]]] = set()
    for tag, frm, via, to in restrictions:
        ins = [s for s in _segments_at(way_refs, frm, via, True) if g.has_edge(*s)]
        outs = [s for s in _segments_at(way_refs, to, via, False) if g.has_edge(*s)]
        if not ins:
            continue
        if tag.startswith("no_"):
            banned.update((a, b) for a in ins for b in outs)
        elif outs or to not in drivable or (via, to) in leaving:
            # only_*: all else is banned, also when the to way is not in the network (dropped with a
            # small component); a drivable to way that cannot leave the via node voids it
            others = [(via, x) for x in g.successors(via) if (via, x) not in outs]
            banned.update((a, b) for a in ins for b in others)
    # The engine turns around only at graph nodes (intersections, way ends, via nodes), never at a
    # shape point in the middle of a road; mid-road U-turns only ever matter when a restriction forces
    # a detour. Same rule here.
    uses: dict[int, int] = {}
    for refs in way_refs.values():
        for r in refs:
            uses[r] = uses.get(r, 0) + 1
    turn_ok = {v for v, c in uses.items() if c >= 2}
    turn_ok |= {r for refs in way_refs.values() for r in (refs[0], refs[-1])}
    turn_ok |= {via for _, _, via, _ in restrictions}
    # edge-based graph
    eg = nx.DiGraph()
    for a, b in g.edges:
        for c in g.successors(b):
            if c == a and b not in turn_ok:
                continue
            if ((a, b), (b, c)) not in banned:
                eg.add_edge((a, b), (b, c), time=g[b][c]["time"], length=g[b][c]["length"])
    node_ids = [int(x) for x in graph.a["node_osm"]]
    snaps = [graph.snap(*ref.coords[v], max_distance_m=1.0) for v in node_ids]
    for metric, weight in ((Metric.TIME, "time"), (Metric.DISTANCE, "length")):
        m = graph.matrix(snaps, snaps, metric, threads=1)
        for i, x in enumerate(node_ids):
            eg.add_node("S")
            for y in g.successors(x):
                eg.add_edge("S", (x, y), **{weight: g[x][y][weight]})
            d = nx.single_source_dijkstra_path_length(eg, "S", weight=weight)
            eg.remove_node("S")
            for j, y in enumerate(node_ids):
                want = 0.0 if x == y else min((d.get((p, y), math.inf) for p in g.predecessors(y)), default=math.inf)
                got = float(m[i, j])
                if math.isfinite(want):
                    r = graph.route(snaps[i], snaps[j], metric)
                    via_route = r.seconds if metric == Metric.TIME else r.meters
                    assert math.isclose(via_route, want, rel_tol=1e-9, abs_tol=1e-6), (metric, x, y, via_route, want)
                assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-6) or (math.isinf(got) and math.isinf(want)), (
                    metric,
                    x,
                    y,
                    got,
                    want,
                    restrictions,
                )
            k = graph.k_fastest(snaps, snaps[i], 3, metric)
            col = sorted(c for c in m[:, i] if math.isfinite(c))[:3]
            np.testing.assert_allclose([c for _, c in k], col, rtol=1e-9, atol=1e-6)
