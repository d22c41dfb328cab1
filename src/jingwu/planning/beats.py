"""Patrol beats (巡段/巡区): split the road network into B beats of about equal workload, each a
connected set of streets that its patrol reaches quickly.

- **Workload** of a road node: ``λ · (its share of the incidents) + (1 − λ) · (its share of street
  length)`` (incidents snapped to the nearest node; a node's street length is half the length of the
  road pieces meeting it), λ = 0.5 by default: beats must answer incidents and also cover streets.
- **Seeds**: weighted k-means++ on node positions (seeded, so runs repeat).
- **Balanced region growing** on the undirected road graph with piece travel times: every beat keeps a
  frontier heap keyed by travel time from its seed; the beat with the least workload so far takes its
  nearest unassigned node next, until every reachable node has a beat. Beats are connected by
  construction.
- **Re-centring**: each seed moves to the beat's node nearest to its workload centroid (a beat left with
  less than half the mean workload restarts at the largest beat's node farthest from its centre) and
  the beats are grown again; ``rounds`` times (6), keeping the partition with the smallest
  (max − min) / mean workload spread.

Output per beat: workload share, incidents, street km, nodes, the longest travel time from its centre,
and a polygon (the Voronoi cells of its nodes dissolved, as for jurisdictions).
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from jingwu.planning.inputs import read_incidents
from jingwu.platform.errors import InvalidInput
from jingwu.routing.geodesy import EARTH_RADIUS_M
from jingwu.routing.isochrone import partition_polygons

if TYPE_CHECKING:
    from jingwu.routing.graph import RoadGraph


def _adjacency(g: RoadGraph) -> tuple[sparse.csr_matrix, npt.NDArray[np.float64]]:
    """Undirected node adjacency with each piece's least travel time; and each node's street length."""
    t = np.full(g.n_pieces, np.inf)
    np.minimum.at(t, g.edge_piece, g.edge_time)
    ok = np.isfinite(t) & (g.piece_u != g.piece_v)
    u, v, w = g.piece_u[ok], g.piece_v[ok], t[ok]
    adj = sparse.coo_matrix((np.concatenate([w, w]), (np.concatenate([u, v]), np.concatenate([v, u]))),
                            shape=(g.n_nodes, g.n_nodes)).tocsr()
    adj.sum_duplicates()
    length = np.zeros(g.n_nodes)
    np.add.at(length, g.piece_u, g.piece_len / 2)
    np.add.at(length, g.piece_v, g.piece_len / 2)
    return adj, length


def _grow(adj: sparse.csr_matrix, seeds: list[int], load: npt.NDArray[np.float64]
          ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    n = adj.shape[0]
    label = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    beat_load = np.zeros(len(seeds))
    fronts: list[list[tuple[float, int]]] = [[(0.0, s)] for s in seeds]
    order = [(0.0, b) for b in range(len(seeds))]  # (beat load, beat)
    ptr, idx, val = adj.indptr, adj.indices, adj.data
    while order:
        _, b = heapq.heappop(order)
        front = fronts[b]
        while front and label[front[0][1]] >= 0:
            heapq.heappop(front)
        if not front:
            continue  # this beat is enclosed: it stops growing
        d, v = heapq.heappop(front)
        label[v], dist[v] = b, d
        beat_load[b] += load[v]
        for k in range(ptr[v], ptr[v + 1]):
            x = int(idx[k])
            if label[x] < 0:
                heapq.heappush(front, (d + float(val[k]), x))
        heapq.heappush(order, (beat_load[b], b))
    return label, dist, beat_load


def plan_beats(g: RoadGraph, beats: int, incidents_csv: str | None = None, tz: str = "Asia/Shanghai",
               share_incidents: float = 0.5, rounds: int = 6, seed: int = 0) -> dict[str, Any]:
    if not (isinstance(beats, int) and 1 <= beats <= 2000):
        raise InvalidInput(f"the number of beats must be 1 to 2000, got {beats}", code="invalid_beats")
    if not (0.0 <= share_incidents <= 1.0):
        raise InvalidInput("the incident share of the workload must be between 0 and 1", code="invalid_share")
    adj, length = _adjacency(g)
    inc = np.zeros(g.n_nodes)
    n_inc = 0
    if incidents_csv is not None:
        rows = read_incidents(incidents_csv, tz)
        x0, y0, x1, y1 = g.bbox
        pts = np.array([(x, y) for x, y, _ in rows if x0 <= x <= x1 and y0 <= y <= y1])
        if pts.size:
            from scipy.spatial import cKDTree

            lat0 = float(np.mean(g.node_lat))
            k = math.cos(math.radians(lat0))
            tree = cKDTree(np.column_stack([g.node_lon * k, g.node_lat]))
            _, near = tree.query(np.column_stack([pts[:, 0] * k, pts[:, 1]]))
            np.add.at(inc, near, 1.0)
            n_inc = int(pts.shape[0])
    lam = share_incidents if n_inc else 0.0
    load = lam * (inc / max(inc.sum(), 1e-12)) + (1 - lam) * (length / max(length.sum(), 1e-12))
    live = np.flatnonzero(np.diff(adj.indptr) > 0)
    if beats > live.size:
        raise InvalidInput(f"{beats} beats but only {live.size} connected road nodes", code="invalid_beats")
    ky = EARTH_RADIUS_M * math.pi / 180.0
    kx = ky * math.cos(math.radians(float(np.mean(g.node_lat))))
    xy = np.column_stack([g.node_lon * kx, g.node_lat * ky])
    rng = np.random.default_rng(seed)
    # weighted k-means++ seeds
    p = load[live] + 1e-12
    seeds = [int(rng.choice(live, p=p / p.sum()))]
    d2 = ((xy[live] - xy[seeds[0]]) ** 2).sum(axis=1)
    for _ in range(beats - 1):
        q = d2 * p
        seeds.append(int(rng.choice(live, p=q / q.sum())) if q.sum() > 0 else int(rng.choice(live)))
        d2 = np.minimum(d2, ((xy[live] - xy[seeds[-1]]) ** 2).sum(axis=1))
    best: tuple[float, Any] | None = None
    for _ in range(max(1, rounds)):
        label, dist, bl = _grow(adj, seeds, load)
        spread = float((bl.max() - bl.min()) / max(bl.mean(), 1e-12))
        if best is None or spread < best[0]:
            best = (spread, (label.copy(), dist.copy(), bl.copy(), list(seeds)))
        new = []
        for b in range(beats):
            mine = np.flatnonzero(label == b)
            wsum = load[mine].sum()
            c = (xy[mine] * load[mine, None]).sum(axis=0) / wsum if wsum > 0 else xy[mine].mean(axis=0)
            new.append(int(mine[np.argmin(((xy[mine] - c) ** 2).sum(axis=1))]))
        small, large = int(np.argmin(bl)), int(np.argmax(bl))
        if beats > 1 and bl[small] < 0.5 * bl.mean():  # a starved beat restarts inside the largest one
            mine = np.flatnonzero(label == large)
            new[small] = int(mine[np.argmax(dist[mine])])
        seeds = new
    assert best is not None
    _, (label, dist, bl, seeds) = best
    ratio = float(bl.max() / max(bl.mean(), 1e-12))
    polys = partition_polygons(g.node_lon[label >= 0], g.node_lat[label >= 0], label[label >= 0].astype(np.int32),
                               beats)
    out = []
    for b in range(beats):
        mine = label == b
        out.append({"beat": b + 1, "workload_share": round(float(bl[b]), 5), "incidents": int(inc[mine].sum()),
                    "street_km": round(float(length[mine].sum()) / 1000, 3), "nodes": int(mine.sum()),
                    "centre": [round(float(g.node_lon[seeds[b]]), 6), round(float(g.node_lat[seeds[b]]), 6)],
                    "max_travel_s": round(float(dist[mine].max()), 1) if mine.any() else 0.0,
                    "geometry": polys[b]})
    return {"beats": out, "balance_max_over_mean": round(ratio, 3), "incidents": n_inc,
            "incident_share_of_workload": lam, "unassigned_nodes": int((label < 0).sum()), "mode": g.mode}
