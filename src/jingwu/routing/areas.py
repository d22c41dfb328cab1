"""Area queries on the road graph: isochrones and the partition of the network among sources.

The searches run here (:func:`jingwu.routing.search.run`, bounded by a time
budget or labelling every node with its nearest source); turning the reached
road lines or labelled nodes into GeoJSON polygons is
:mod:`jingwu.routing.isochrone`'s job. That module needs shapely and is
imported on first use, so loading a graph does not pay for it. The RoadGraph
methods ``isochrone``, ``nearest_source_partition`` and ``partition_polygons``
delegate here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from jingwu.routing.domain import InvalidArgument, Metric, Snap
from jingwu.routing.endpoints import ends, ends_of, expand, snap_arrays, weights
from jingwu.routing.kernels import F64, I32, INF
from jingwu.routing.search import Workspace, run

if TYPE_CHECKING:
    from jingwu.routing.graph import RoadGraph


def nearest_source_partition(g: RoadGraph, sources: Sequence[Snap], metric: Metric) -> I32:
    metric = Metric(metric)
    if len(sources) == 0:
        return np.full(g.n_nodes, -1, dtype=np.int32)
    sn, sc, sl, _ = ends_of(g, sources, metric, True)
    ws, _, _, _ = run(g, True, metric, (sn, sc, sl), None, np.empty(0, np.float64), track=True)
    return _per_node(g, ws)[1]


def partition_polygons(g: RoadGraph, sources: Sequence[Snap], metric: Metric) -> list[dict[str, Any] | None]:
    from jingwu.routing import isochrone

    labels = nearest_source_partition(g, sources, metric)
    return isochrone.partition_polygons(g.node_lon, g.node_lat, labels, len(sources))


def _per_node(g: RoadGraph, ws: Workspace) -> tuple[F64, I32]:
    """Collapse search-node results to graph nodes (min over copies)."""
    reached = ws.state == ws.settled
    dist = np.where(reached, ws.dist, INF)
    label = np.where(reached, ws.label, -1).astype(np.int32)
    n = g.n_nodes
    d_out = dist[:n].copy()
    l_out = label[:n].copy()
    for c in range(n, g.n_search):
        o = int(g.s_orig[c])
        if dist[c] < d_out[o]:
            d_out[o] = dist[c]
            l_out[o] = label[c]
    return d_out, l_out


def node_costs(g: RoadGraph, sources: Sequence[Snap], metric: Metric, reverse: bool, limit: float) -> F64:
    """(len(sources), n_nodes) least cost from each source to every graph node (``reverse``: from every node
    to each source): one full Dijkstra per source, bounded by ``limit`` (costlier or unreachable: inf). A
    node with turn-restriction copies gets the least cost over its copies."""
    metric = Metric(metric)
    out = np.full((len(sources), g.n_nodes), INF, dtype=np.float64)
    w = weights(g, metric)
    n = g.n_nodes
    extra = g.s_orig[n:]
    for i, s in enumerate(sources):
        p, o = snap_arrays([s])
        nodes, costs, _, _ = ends(g, p, o, w, leaving=not reverse)
        ws, _, _, _ = run(g, not reverse, metric, (nodes, costs, np.zeros_like(nodes)), None, np.empty(0), limit=limit)
        dist = np.where(ws.state == ws.settled, ws.dist, INF)
        row = out[i]
        row[:] = dist[:n]
        if extra.size:
            np.minimum.at(row, extra, dist[n : g.n_search])
    return out


def isochrone(g: RoadGraph, at: Snap, minutes: float, buffer_m: float) -> dict[str, Any]:
    from jingwu.routing.isochrone import polygon_from_lines

    if not (minutes >= 0 and math.isfinite(minutes)):
        raise InvalidArgument(f"minutes must be a finite number ≥ 0, got {minutes}")
    budget = float(minutes) * 60.0
    w = g.edge_time
    nodes, costs, _, via = ends(g, *snap_arrays([at]), w, leaving=True)
    ws, _, _, _ = run(g, True, Metric.TIME, (nodes, costs, np.zeros_like(nodes)), None, np.empty(0), limit=budget)
    lines: list[list[tuple[float, float]]] = []
    # the snapped piece itself, in each allowed direction
    for e_, c_ in zip(via, costs, strict=True):
        e, c = int(e_), float(c_)
        if e < 0:
            continue
        p = int(g.edge_piece[e])
        length = float(g.piece_len[p])
        fwd = int(g.edge_dir[e]) == 0
        speed_frac = min(1.0, budget / c) if c > 0 else 1.0
        rem = (length - at.offset_m) if fwd else at.offset_m
        reach = rem * speed_frac
        lo, hi = (at.offset_m, at.offset_m + reach) if fwd else (at.offset_m - reach, at.offset_m)
        lines.append(g._piece_cut(p, lo, hi))
    done = np.flatnonzero(ws.state[: g.n_search] == ws.settled)
    arcs, tail_k = expand(g.a["fptr"], done)
    t_arc = g.a["ftime"][arcs]
    left = budget - ws.dist[done][tail_k]
    fracs = np.minimum(1.0, np.divide(left, t_arc, out=np.ones_like(left), where=t_arc > 0))
    edge_reach = np.zeros(g.n_edges)
    np.maximum.at(edge_reach, g.a["fedge"][arcs], fracs)
    for e_ in np.flatnonzero(edge_reach > 0):
        e, frac = int(e_), float(edge_reach[e_])
        p = int(g.edge_piece[e])
        length = float(g.piece_len[p])
        if int(g.edge_dir[e]) == 0:
            lines.append(g._piece_cut(p, 0.0, frac * length))
        else:
            lines.append(g._piece_cut(p, length - frac * length, length))
    if not lines:
        lines.append([(at.snapped_lon, at.snapped_lat)])
    return polygon_from_lines(lines, (at.snapped_lon, at.snapped_lat), buffer_m)
