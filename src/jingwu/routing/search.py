"""Shortest-path queries: one-to-many, many-to-one, k fastest, matrix, and routes with geometry.

Each query turns its snapped points into seeds and goals
(:mod:`jingwu.routing.endpoints`) and runs a compiled kernel of
:mod:`jingwu.routing.kernels`: Dijkstra through :func:`run` (also used by the
area queries), A* for one-to-one routes. Searches reuse a per-thread
:class:`Workspace` kept on the graph, so one RoadGraph serves many threads.
The RoadGraph query methods delegate here.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from jingwu.routing import kernels
from jingwu.routing.domain import Metric, Route, Snap, Unreachable
from jingwu.routing.endpoints import direct, ends, ends_of, snap_arrays, weights
from jingwu.routing.geodesy import EARTH_RADIUS_M
from jingwu.routing.kernels import F64, I32, INF

if TYPE_CHECKING:
    from jingwu.routing.graph import RoadGraph


class Workspace:
    """Per-thread reusable search arrays (see kernels module docstring)."""

    def __init__(self, n: int, heap_cap: int) -> None:
        self.dist = np.empty(n, dtype=np.float64)
        self.state = np.zeros(n, dtype=np.int64)
        self.pred = np.empty(n, dtype=np.int32)
        self.label = np.empty(n, dtype=np.int32)
        self.gmark = np.zeros(n, dtype=np.int64)
        self.gfirst = np.empty(n, dtype=np.int32)
        self.hk = np.empty(heap_cap, dtype=np.float64)
        self.hn = np.empty(heap_cap, dtype=np.int32)
        self.cur = 0

    @property
    def settled(self) -> int:
        """``state`` value of nodes settled by the latest query."""
        return 2 * self.cur + 1

    def ensure_heap(self, cap: int) -> None:
        if self.hk.shape[0] < cap:
            self.hk = np.empty(cap, dtype=np.float64)
            self.hn = np.empty(cap, dtype=np.int32)


# ---------------------------------------------------------------------- kernel driver
def workspace(g: RoadGraph) -> Workspace:
    """This thread's workspace for ``g`` (created on first use)."""
    ws: Workspace | None = getattr(g._tls, "ws", None)
    if ws is None:
        ws = Workspace(g.n_search, g._heap_base)
        g._tls.ws = ws
    return ws


def run(
    g: RoadGraph,
    forward: bool,
    metric: Metric,
    seeds: tuple[I32, F64, I32],
    goals: tuple[I32, F64, I32] | None,
    best: F64,
    k: int = 0,
    limit: float = INF,
    track: bool = False,
) -> tuple[Workspace, I32, F64, int]:
    """One Dijkstra search (forward or on the reverse graph); see :func:`jingwu.routing.kernels.dijkstra`."""
    ws = workspace(g)
    ws.cur += 1
    sn = np.asarray(seeds[0], dtype=np.int32)
    sc = np.asarray(seeds[1], dtype=np.float64)
    sl = np.asarray(seeds[2], dtype=np.int32)
    ws.ensure_heap(g._heap_base + sn.shape[0])
    if goals is None:
        gn, gc, go = np.empty(0, np.int32), np.empty(0, np.float64), np.empty(0, np.int32)
    else:
        gn, gc, go = goals
    a = g.a
    if forward:
        ptr, adj, w = a["fptr"], a["fadj"], a["ftime"] if metric == Metric.TIME else a["flen"]
    else:
        ptr, adj, w = a["rptr"], a["radj"], a["rtime"] if metric == Metric.TIME else a["rlen"]
    tk_owner = np.full(max(k, 1), -1, dtype=np.int32)
    tk_cost = np.full(max(k, 1), INF, dtype=np.float64)
    _, kc = kernels.dijkstra(
        ptr, adj, w, sn, sc, sl, gn, gc, go, best, k, tk_owner, tk_cost, float(limit),
        ws.dist, ws.state, ws.pred, ws.label, ws.gmark, ws.gfirst, ws.hk, ws.hn, ws.cur, track,
    )  # fmt: skip
    return ws, tk_owner, tk_cost, int(kc)


def _xyz(g: RoadGraph) -> F64:
    """Earth-radius-scaled unit-sphere coordinates of every search node (for A*), computed once."""
    xyz = g._xyz_cache
    if xyz is None:
        lon = np.radians(g.node_lon[g.s_orig])
        lat = np.radians(g.node_lat[g.s_orig])
        xyz = np.ascontiguousarray(
            EARTH_RADIUS_M * np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
        )
        g._xyz_cache = xyz
    return xyz


def _astar(
    g: RoadGraph,
    metric: Metric,
    seeds: tuple[I32, F64, I32],
    goals: tuple[I32, F64],
    best: F64,
    target: tuple[float, float],
) -> Workspace:
    ws = workspace(g)
    ws.cur += 1
    sn, sc, sl = seeds
    ws.ensure_heap(g._heap_base + sn.shape[0])
    a = g.a
    w = a["ftime"] if metric == Metric.TIME else a["flen"]
    lon, lat = math.radians(target[0]), math.radians(target[1])
    txyz = EARTH_RADIUS_M * np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])
    # 1 - 1e-9 absorbs rounding so the heuristic never exceeds a true remaining cost
    hscale = (1.0 if metric == Metric.DISTANCE else 1.0 / g._vmax) * (1.0 - 1e-9)
    kernels.astar(
        a["fptr"], a["fadj"], w, sn, sc, sl, goals[0], goals[1], best, _xyz(g), txyz, hscale,
        ws.dist, ws.state, ws.pred, ws.label, ws.gmark, ws.gfirst, ws.hk, ws.hn, ws.cur,
    )  # fmt: skip
    return ws


# ---------------------------------------------------------------------- queries
def one_to_many(g: RoadGraph, source: Snap, targets: Sequence[Snap], metric: Metric, max_cost: float) -> F64:
    metric = Metric(metric)
    w = weights(g, metric)
    sp, so = snap_arrays([source])
    tp, to = snap_arrays(targets)
    best, _ = direct(g, sp, so, tp, to, w)
    if len(targets) == 0:
        return best
    xn, xc, _, _ = ends(g, sp, so, w, leaving=True)
    gn, gc, go, _ = ends_of(g, targets, metric, False, (tp, to))
    run(g, True, metric, (xn, xc, np.zeros_like(xn)), (gn, gc, go), best, limit=max_cost)
    best[best > max_cost] = INF
    return best


def many_to_one(g: RoadGraph, sources: Sequence[Snap], target: Snap, metric: Metric, max_cost: float) -> F64:
    metric = Metric(metric)
    w = weights(g, metric)
    sp, so = snap_arrays(sources)
    tp, to = snap_arrays([target])
    best, _ = direct(g, sp, so, tp, to, w)
    if len(sources) == 0:
        return best
    en, ec, _, _ = ends(g, tp, to, w, leaving=False)
    gn, gc, go, _ = ends_of(g, sources, metric, True, (sp, so))
    run(g, False, metric, (en, ec, np.zeros_like(en)), (gn, gc, go), best, limit=max_cost)
    best[best > max_cost] = INF
    return best


def k_fastest(g: RoadGraph, sources: Sequence[Snap], target: Snap, k: int, metric: Metric) -> list[tuple[int, float]]:
    metric = Metric(metric)
    if k <= 0 or len(sources) == 0:
        return []
    k = min(k, len(sources))
    w = weights(g, metric)
    sp, so = snap_arrays(sources)
    tp, to = snap_arrays([target])
    best, _ = direct(g, sp, so, tp, to, w)
    en, ec, _, _ = ends(g, tp, to, w, leaving=False)
    gn, gc, go, _ = ends_of(g, sources, metric, True, (sp, so))
    _, tk_owner, tk_cost, kc = run(g, False, metric, (en, ec, np.zeros_like(en)), (gn, gc, go), best, k=k)
    return [(int(tk_owner[i]), float(tk_cost[i])) for i in range(kc)]


def matrix(
    g: RoadGraph,
    sources: Sequence[Snap],
    targets: Sequence[Snap],
    metric: Metric,
    threads: int | None,
    max_cost: float,
) -> F64:
    metric = Metric(metric)
    w = weights(g, metric)
    out = np.full((len(sources), len(targets)), INF, dtype=np.float64)
    if len(sources) == 0 or len(targets) == 0:
        return out
    sp, so = snap_arrays(sources)
    tp, to = snap_arrays(targets)
    goals = ends_of(g, targets, metric, False, (tp, to))[:3]
    xn, xc, xo, _ = ends_of(g, sources, metric, True, (sp, so))
    order = np.argsort(xo, kind="stable")
    xptr = np.searchsorted(xo[order], np.arange(len(sources) + 1))

    def row(i: int) -> None:
        best, _ = direct(g, sp[i : i + 1], so[i : i + 1], tp, to, w)
        sel = order[xptr[i] : xptr[i + 1]]
        run(g, True, metric, (xn[sel], xc[sel], np.zeros(sel.size, np.int32)), goals, best, limit=max_cost)
        best[best > max_cost] = INF
        out[i] = best

    n_threads = threads or min(len(sources), os.cpu_count() or 1)
    if n_threads <= 1:
        for i in range(len(sources)):
            row(i)
    else:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            list(pool.map(row, range(len(sources))))
    return out


# ---------------------------------------------------------------------- one-to-one routes
def route(g: RoadGraph, a: Snap, b: Snap, metric: Metric) -> Route:
    metric = Metric(metric)
    w = weights(g, metric)
    ap, ao = snap_arrays([a])
    bp, bo = snap_arrays([b])
    d_cost, d_edge = direct(g, ap, ao, bp, bo, w)
    direct_c, direct_e = float(d_cost[0]), int(d_edge[0])
    best = np.array([direct_c], dtype=np.float64)
    xn, xc, _, xv = ends(g, ap, ao, w, leaving=True)
    en, ec, _, ev = ends(g, bp, bo, w, leaving=False)
    labels = np.arange(xn.size, dtype=np.int32)
    ws = _astar(g, metric, (xn, xc, labels), (en, ec), best, (b.snapped_lon, b.snapped_lat))
    if not math.isfinite(best[0]):
        what = "drivable" if g.mode in ("car", "motorbike") else {"foot": "walking", "bicycle": "cycling"}[g.mode]
        raise Unreachable(f"no {what} path from ({a.lon:.6f}, {a.lat:.6f}) to ({b.lon:.6f}, {b.lat:.6f})")
    if direct_c <= best[0] and direct_e >= 0:
        return _route_on_piece(g, a, b, direct_e)
    # which entry produced the best cost
    j_best, c_best = -1, INF
    for j in range(en.size):
        node = int(en[j])
        if ws.state[node] == ws.settled and ws.dist[node] + ec[j] < c_best:
            j_best, c_best = j, float(ws.dist[node] + ec[j])
    arcs: list[int] = []
    x = int(en[j_best])
    ftail = g.a["ftail"]
    while ws.pred[x] >= 0:
        arc = int(ws.pred[x])
        arcs.append(arc)
        x = int(ftail[arc])
    arcs.reverse()
    exit_j = int(ws.label[x])  # seed label = index of the exit used
    fedge = g.a["fedge"]
    edges = [int(fedge[arc]) for arc in arcs]
    seconds = float(g.edge_time[edges].sum()) if edges else 0.0
    meters = float(g.edge_len[edges].sum()) if edges else 0.0
    coords: list[tuple[float, float]] = [(a.snapped_lon, a.snapped_lat)]
    e0 = int(xv[exit_j])
    if e0 >= 0:  # partial first edge from the snapped point to its head
        s_m, s_t, part = _partial(g, e0, a.offset_m, from_point=True)
        seconds += s_t
        meters += s_m
        coords.extend(part)
    for e in edges:
        coords.extend(g._edge_coords(e))
    e1 = int(ev[j_best])
    if e1 >= 0:
        s_m, s_t, part = _partial(g, e1, b.offset_m, from_point=False)
        seconds += s_t
        meters += s_m
        coords.extend(part)
    coords.append((b.snapped_lon, b.snapped_lat))
    return Route(seconds, meters, _linestring(coords))


def _partial(g: RoadGraph, e: int, offset: float, from_point: bool) -> tuple[float, float, list[tuple[float, float]]]:
    """Length, time and coordinates of the part of edge ``e`` after (or before) a point at ``offset``."""
    p = int(g.edge_piece[e])
    length = float(g.piece_len[p])
    fwd = int(g.edge_dir[e]) == 0
    if from_point:
        lo, hi = (offset, length) if fwd else (0.0, offset)
    else:
        lo, hi = (0.0, offset) if fwd else (offset, length)
    frac = (hi - lo) / length if length > 0 else 0.0
    pts = g._piece_between(p, lo, hi)
    if not fwd:
        pts.reverse()
    # include the graph node where the partial edge meets the rest of the route
    node = int(g.piece_v[p]) if fwd else int(g.piece_u[p])
    if not from_point:
        node = int(g.piece_u[p]) if fwd else int(g.piece_v[p])
    xy = (float(g.node_lon[node]), float(g.node_lat[node]))
    pts = [*pts, xy] if from_point else [xy, *pts]
    return frac * float(g.edge_len[e]), frac * float(g.edge_time[e]), pts


def _route_on_piece(g: RoadGraph, a: Snap, b: Snap, e: int) -> Route:
    p = a.edge
    length = float(g.piece_len[p])
    lo, hi = sorted((a.offset_m, b.offset_m))
    frac = (hi - lo) / length if length > 0 else 0.0
    pts = g._piece_between(p, lo, hi)
    if int(g.edge_dir[e]) == 1:
        pts.reverse()
    coords = [(a.snapped_lon, a.snapped_lat), *pts, (b.snapped_lon, b.snapped_lat)]
    return Route(frac * float(g.edge_time[e]), frac * float(g.edge_len[e]), _linestring(coords))


def _linestring(coords: list[tuple[float, float]]) -> dict[str, Any]:
    out: list[list[float]] = []
    for x, y in coords:
        pt = [round(x, 7), round(y, 7)]
        if not out or out[-1] != pt:
            out.append(pt)
    if len(out) == 1:
        out.append(list(out[0]))
    return {"type": "LineString", "coordinates": out}
