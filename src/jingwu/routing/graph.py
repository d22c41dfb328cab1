"""RoadGraph: the loaded road network and every query on it (snap, route, one-to-many,
many-to-one, k fastest, matrix, isochrone, nearest-source partition and its
polygons, map layer), plus SnapBatch (snaps prepared for repeated queries).

The graph is a set of numpy arrays (see :mod:`jingwu.routing.build`), built
or loaded from its on-disk cache by :mod:`jingwu.routing.cache`. Queries translate snapped points
into weighted seeds and goals and call the compiled kernel in
:mod:`jingwu.routing.kernels`. A ``RoadGraph`` is safe to share between
threads: each thread gets its own search workspace.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from operator import attrgetter
from pathlib import Path
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from jingwu.routing import cache, kernels
from jingwu.routing.build import Arrays, build_arrays
from jingwu.routing.domain import (
    ImportReport,
    InvalidArgument,
    Metric,
    OffNetwork,
    Route,
    Snap,
    Unreachable,
    check_lonlat,
)
from jingwu.routing.geodesy import EARTH_RADIUS_M, haversine_m
from jingwu.routing.osm_import import HIGHWAY_CLASSES, PieceTable

INF = math.inf
F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

_Seeds = tuple[I32, F64]


class _Workspace:
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


def _snap_arrays(snaps: Sequence[Snap]) -> tuple[I64, F64]:
    n = len(snaps)
    p = np.fromiter(map(_get_edge, snaps), dtype=np.int64, count=n)
    o = np.fromiter(map(_get_offset, snaps), dtype=np.float64, count=n)
    return p, o


_TOKENS = itertools.count()
_get_edge = attrgetter("edge")
_get_offset = attrgetter("offset_m")


class SnapBatch(Sequence[Snap]):
    """An immutable sequence of snaps with their arrays (and per-graph seeds) computed once.

    Dispatch keeps its units as a batch and asks many ``k_fastest`` questions
    against it; each query then costs only the search itself.
    """

    def __init__(self, snaps: Sequence[Snap]) -> None:
        self._snaps: tuple[Snap, ...] = tuple(snaps)
        self.pieces, self.offsets = _snap_arrays(self._snaps)
        self._cache: dict[tuple[int, Metric, bool], tuple[I32, F64, I32, I32]] = {}

    def __len__(self) -> int:
        return len(self._snaps)

    @overload
    def __getitem__(self, i: int) -> Snap: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Snap]: ...
    def __getitem__(self, i: int | slice) -> Snap | Sequence[Snap]:
        return self._snaps[i]


class RoadGraph:
    """A directed drivable road graph with snapping and exact shortest-path queries."""

    def __init__(self, arrays: Arrays, report: ImportReport) -> None:
        a = cache.with_derived(arrays)
        self.a = a
        self.report = report
        self.node_lon: F64 = a["node_lon"]
        self.node_lat: F64 = a["node_lat"]
        self.piece_u: I32 = a["piece_u"]
        self.piece_v: I32 = a["piece_v"]
        self.piece_len: F64 = a["piece_len"]
        self.piece_edge: I32 = a["piece_edge"]
        self.shape_ptr: npt.NDArray[np.int64] = a["shape_ptr"]
        self.shape_lon: F64 = a["shape_lon"]
        self.shape_lat: F64 = a["shape_lat"]
        self.shape_cum: F64 = a["shape_cum"]
        self.seg_piece: I32 = a["seg_piece"]
        self.edge_len: F64 = a["edge_len"]
        self.edge_time: F64 = a["edge_time"]
        self.edge_piece: I32 = a["edge_piece"]
        self.edge_dir: npt.NDArray[np.int8] = a["edge_dir"]
        self.edge_hs: I32 = a["edge_hs"]
        self.et_ptr: npt.NDArray[np.int64] = a["et_ptr"]
        self.et_node: I32 = a["et_node"]
        self.copy_ptr: npt.NDArray[np.int64] = a["copy_ptr"]
        self.copy_node: I32 = a["copy_node"]
        self.s_orig: I32 = a["s_orig"]
        g = a["grid"]
        self._grid = (float(g[0]), float(g[1]), float(g[2]), float(g[3]), int(g[4]), int(g[5]))
        self.n_search = int(self.s_orig.shape[0])
        self._heap_base = int(a["fadj"].shape[0]) + 64
        self._tls = threading.local()
        self._token = next(_TOKENS)  # identifies this graph in SnapBatch caches
        with np.errstate(divide="ignore", invalid="ignore"):
            speeds = np.where(self.edge_time > 0, self.edge_len / self.edge_time, 0.0)
        self._vmax = float(max(speeds.max(initial=0.0), 1e-6))  # fastest edge, m/s (A* bound)
        self._names: list[str] = [str(x) for x in a["names"]]
        self._bbox = (
            float(self.shape_lon.min()),
            float(self.shape_lat.min()),
            float(self.shape_lon.max()),
            float(self.shape_lat.max()),
        )

    # ------------------------------------------------------------------ build / load (cache.py)
    @classmethod
    def from_pieces(cls, table: PieceTable, progress: bool = False) -> RoadGraph:
        arrays, report = build_arrays(table, progress=progress)
        return cls(arrays, report)

    @classmethod
    def build(cls, osm_path: Path, progress: bool = False) -> RoadGraph:
        """Read and assemble an OSM file without touching any cache."""
        return cache.build(cls, osm_path, progress)

    @staticmethod
    def cache_path(osm_path: Path, cache_dir: Path) -> Path:
        """Cache file for this exact source content (SHA-256) and on-disk format version."""
        return cache.cache_path(osm_path, cache_dir)

    @classmethod
    def load_or_build(cls, osm_path: Path, cache_dir: Path, progress: bool = False) -> RoadGraph:
        """Load the cached graph for ``osm_path`` or build and cache it (atomic write)."""
        return cache.load_or_build(cls, osm_path, cache_dir, progress)

    def save(self, path: Path) -> None:
        """Write the graph atomically: a temp file in the same directory, then ``os.replace``."""
        cache.save(self, path)

    @classmethod
    def load(cls, path: Path) -> RoadGraph:
        return cache.load(cls, path)

    # ------------------------------------------------------------------ properties
    @property
    def n_nodes(self) -> int:
        return int(self.node_lon.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.edge_piece.shape[0])

    @property
    def n_pieces(self) -> int:
        return int(self.piece_u.shape[0])

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of the kept road geometry."""
        return self._bbox

    @property
    def dropped(self) -> ImportReport:
        """The import report (what was kept and what was dropped, and why)."""
        return self.report

    def node_coords(self) -> F64:
        """(n, 2) array of lon, lat of the graph nodes (intersections and way ends)."""
        return np.column_stack([self.node_lon, self.node_lat])

    # ------------------------------------------------------------------ snapping
    def snap(self, lon: float, lat: float, max_distance_m: float = 500.0) -> Snap:
        """Project a point onto the nearest road piece; ``off_network`` if none within the limit."""
        lon, lat = float(lon), float(lat)
        check_lonlat(lon, lat)
        if not (max_distance_m > 0 and math.isfinite(max_distance_m)):
            raise InvalidArgument(f"max_distance_m must be a positive number of metres, got {max_distance_m}")
        lon0, lat0, dlon, dlat, nx, ny = self._grid
        s, t, _ = kernels.snap_nearest(
            lon,
            lat,
            float(max_distance_m),
            self.shape_lon,
            self.shape_lat,
            self.a["cell_ptr"],
            self.a["cell_seg"],
            lon0,
            lat0,
            dlon,
            dlat,
            nx,
            ny,
        )
        if s < 0:
            raise OffNetwork(self._off_network_message(lon, lat, max_distance_m))
        p = int(self.seg_piece[s])
        slon = float(self.shape_lon[s] + t * (self.shape_lon[s + 1] - self.shape_lon[s]))
        slat = float(self.shape_lat[s] + t * (self.shape_lat[s + 1] - self.shape_lat[s]))
        seg = float(self.shape_cum[s + 1] - self.shape_cum[s])
        offset = float(self.shape_cum[s] + t * seg)
        if t >= 1.0:
            offset = float(self.shape_cum[s + 1])
        plen = float(self.piece_len[p])
        offset = min(max(offset, 0.0), plen)
        dist = haversine_m(lon, lat, slon, slat)
        return Snap(lon, lat, p, offset, slon, slat, dist, plen)

    def _off_network_message(self, lon: float, lat: float, max_distance_m: float) -> str:
        x0, y0, x1, y1 = self.bbox
        msg = f"no road within {max_distance_m:g} m of lon={lon}, lat={lat}"
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            msg += f" (outside the loaded area {x0:.4f},{y0:.4f} – {x1:.4f},{y1:.4f})"
            if x0 <= lat <= x1 and y0 <= lon <= y1:
                msg += "; the point looks like LAT,LON — give LON,LAT"
        return msg

    # ------------------------------------------------------------------ seeds / goals
    def _w(self, metric: Metric) -> F64:
        return self.edge_time if Metric(metric) == Metric.TIME else self.edge_len

    @staticmethod
    def _arrays(snaps: Sequence[Snap]) -> tuple[I64, F64]:
        if isinstance(snaps, SnapBatch):
            return snaps.pieces, snaps.offsets
        return _snap_arrays(snaps)

    def prepare(self, snaps: Sequence[Snap]) -> SnapBatch:
        """Prepare snaps (e.g. the units) once for many queries; accepted wherever a sequence of snaps is."""
        return SnapBatch(snaps)

    def _ends_of(
        self, snaps: Sequence[Snap], metric: Metric, leaving: bool, arrays: tuple[I64, F64] | None = None
    ) -> tuple[I32, F64, I32, I32]:
        if isinstance(snaps, SnapBatch):
            key = (self._token, metric, leaving)
            hit = snaps._cache.get(key)
            if hit is None:
                hit = self._ends(snaps.pieces, snaps.offsets, self._w(metric), leaving)
                snaps._cache[key] = hit
            return hit
        p, o = arrays if arrays is not None else self._arrays(snaps)
        return self._ends(p, o, self._w(metric), leaving)

    @staticmethod
    def _expand(
        ptr: npt.NDArray[np.int64], keys: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Flat CSR positions of all entries of ``keys`` and, for each, which key it came from."""
        cnt = ptr[keys + 1] - ptr[keys]
        owner = np.repeat(np.arange(keys.size), cnt)
        if owner.size == 0:
            return owner, owner
        first = np.cumsum(cnt) - cnt
        pos = np.repeat(ptr[keys], cnt) + (np.arange(owner.size) - np.repeat(first, cnt))
        return pos, owner

    def _ends(self, p: npt.NDArray[np.int64], o: F64, w: F64, leaving: bool) -> tuple[I32, F64, I32, I32]:
        """Seeds where snapped points leave (``leaving``) or goals where they are reached.

        Returns (search nodes, added cost, owner = index of the snap, edge used or -1).
        Leaving: the vehicle drives the rest of its piece to the head of each
        allowed direction. Reached: from the tail(s) of each allowed direction
        plus the part of the piece up to the point. A point exactly at a graph
        node also connects to that node directly (all its copies) at cost 0.
        """
        if p.size == 1:
            return self._ends_one(int(p[0]), float(o[0]), w, leaving)
        length = self.piece_len[p]
        idx = np.arange(p.size)
        nodes: list[npt.NDArray[np.int64]] = []
        costs: list[F64] = []
        owners: list[npt.NDArray[np.int64]] = []
        via: list[npt.NDArray[np.int64]] = []
        for d in (0, 1):
            e = self.piece_edge[p, d].astype(np.int64)
            m = e >= 0
            em, lm, om = e[m], length[m], o[m]
            part = (lm - om) if (d == 0) == leaving else om
            frac = np.divide(part, lm, out=np.zeros_like(part), where=lm > 0)
            c = w[em] * frac
            if leaving:
                nodes.append(self.edge_hs[em].astype(np.int64))
                costs.append(c)
                owners.append(idx[m])
                via.append(em)
            else:
                pos, k = self._expand(self.et_ptr, em)
                nodes.append(self.et_node[pos].astype(np.int64))
                costs.append(c[k])
                owners.append(idx[m][k])
                via.append(em[k])
        for at_end in (False, True):
            m = (o == length) if at_end else (o == 0.0)
            if m.any():
                node = (self.piece_v if at_end else self.piece_u)[p[m]].astype(np.int64)
                pos, k = self._expand(self.copy_ptr, node)
                nodes.append(self.copy_node[pos].astype(np.int64))
                costs.append(np.zeros(pos.size))
                owners.append(idx[m][k])
                via.append(np.full(pos.size, -1, dtype=np.int64))
        return (
            np.concatenate(nodes).astype(np.int32),
            np.concatenate(costs).astype(np.float64),
            np.concatenate(owners).astype(np.int32),
            np.concatenate(via).astype(np.int32),
        )

    def _ends_one(self, p: int, o: float, w: F64, leaving: bool) -> tuple[I32, F64, I32, I32]:
        """:meth:`_ends` for a single snap in plain Python (numpy call overhead dominates otherwise)."""
        length = float(self.piece_len[p])
        nodes: list[int] = []
        costs: list[float] = []
        via: list[int] = []
        for d in (0, 1):
            e = int(self.piece_edge[p, d])
            if e < 0:
                continue
            part = (length - o) if (d == 0) == leaving else o
            c = float(w[e]) * part / length if length > 0 else 0.0
            if leaving:
                nodes.append(int(self.edge_hs[e]))
                costs.append(c)
                via.append(e)
            else:
                for j in range(int(self.et_ptr[e]), int(self.et_ptr[e + 1])):
                    nodes.append(int(self.et_node[j]))
                    costs.append(c)
                    via.append(e)
        for at, node in ((0.0, int(self.piece_u[p])), (length, int(self.piece_v[p]))):
            if o == at:
                for j in range(int(self.copy_ptr[node]), int(self.copy_ptr[node + 1])):
                    nodes.append(int(self.copy_node[j]))
                    costs.append(0.0)
                    via.append(-1)
        return (
            np.array(nodes, dtype=np.int32),
            np.array(costs, dtype=np.float64),
            np.zeros(len(nodes), dtype=np.int32),
            np.array(via, dtype=np.int32),
        )

    def _direct(
        self, ap: npt.NDArray[np.int64], ao: F64, bp: npt.NDArray[np.int64], bo: F64, w: F64
    ) -> tuple[F64, I32]:
        """Cost of driving from a to b along their common piece without leaving it (inf if not possible).

        Element-wise over 1-D arrays where one side may have length 1 (broadcast); also returns the
        directed edge used (-1 if none).
        """
        n = max(ap.size, bp.size)
        cost = np.full(n, INF)
        edge = np.full(n, -1, dtype=np.int32)
        same = np.flatnonzero(ap == bp)
        if same.size == 0:
            return cost, edge

        def pick(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return x[same] if x.size == n else np.full(same.size, x[0])

        p = pick(ap)
        a_off, b_off = pick(ao), pick(bo)
        length = self.piece_len[p]
        for d in (0, 1):
            e = self.piece_edge[p, d]
            delta = (b_off - a_off) if d == 0 else (a_off - b_off)
            ok = (e >= 0) & (delta >= 0)
            frac = np.divide(delta, length, out=np.zeros_like(delta), where=length > 0)
            c = np.where(ok, w[np.maximum(e, 0)] * frac, INF)
            better = c < cost[same]
            cost[same[better]] = c[better]
            edge[same[better]] = e[better]
        return cost, edge

    # ------------------------------------------------------------------ kernel driver
    def _ws(self) -> _Workspace:
        ws: _Workspace | None = getattr(self._tls, "ws", None)
        if ws is None:
            ws = _Workspace(self.n_search, self._heap_base)
            self._tls.ws = ws
        return ws

    def _run(
        self,
        forward: bool,
        metric: Metric,
        seeds: tuple[I32, F64, I32],
        goals: tuple[I32, F64, I32] | None,
        best: F64,
        k: int = 0,
        limit: float = INF,
        track: bool = False,
    ) -> tuple[_Workspace, I32, F64, int]:
        ws = self._ws()
        ws.cur += 1
        sn = np.asarray(seeds[0], dtype=np.int32)
        sc = np.asarray(seeds[1], dtype=np.float64)
        sl = np.asarray(seeds[2], dtype=np.int32)
        ws.ensure_heap(self._heap_base + sn.shape[0])
        if goals is None:
            gn, gc, go = np.empty(0, np.int32), np.empty(0, np.float64), np.empty(0, np.int32)
        else:
            gn, gc, go = goals
        a = self.a
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

    def _xyz(self) -> F64:
        """Earth-radius-scaled unit-sphere coordinates of every search node (for A*), computed once."""
        xyz: F64 | None = getattr(self, "_xyz_cache", None)
        if xyz is None:
            lon = np.radians(self.node_lon[self.s_orig])
            lat = np.radians(self.node_lat[self.s_orig])
            xyz = np.ascontiguousarray(
                EARTH_RADIUS_M * np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
            )
            self._xyz_cache = xyz
        return xyz

    def _astar(
        self,
        metric: Metric,
        seeds: tuple[I32, F64, I32],
        goals: tuple[I32, F64],
        best: F64,
        target: tuple[float, float],
    ) -> _Workspace:
        ws = self._ws()
        ws.cur += 1
        sn, sc, sl = seeds
        ws.ensure_heap(self._heap_base + sn.shape[0])
        a = self.a
        w = a["ftime"] if metric == Metric.TIME else a["flen"]
        lon, lat = math.radians(target[0]), math.radians(target[1])
        txyz = EARTH_RADIUS_M * np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])
        # 1 - 1e-9 absorbs rounding so the heuristic never exceeds a true remaining cost
        hscale = (1.0 if metric == Metric.DISTANCE else 1.0 / self._vmax) * (1.0 - 1e-9)
        kernels.astar(
            a["fptr"], a["fadj"], w, sn, sc, sl, goals[0], goals[1], best, self._xyz(), txyz, hscale,
            ws.dist, ws.state, ws.pred, ws.label, ws.gmark, ws.gfirst, ws.hk, ws.hn, ws.cur,
        )  # fmt: skip
        return ws

    # ------------------------------------------------------------------ queries
    def one_to_many(
        self, source: Snap, targets: Sequence[Snap], metric: Metric = Metric.TIME, max_cost: float = INF
    ) -> F64:
        """Cost from ``source`` to each target (seconds or metres); ``inf`` if unreachable.

        ``max_cost`` bounds the search: targets costing more come back as ``inf`` (faster on big graphs).
        """
        metric = Metric(metric)
        w = self._w(metric)
        sp, so = self._arrays([source])
        tp, to = self._arrays(targets)
        best, _ = self._direct(sp, so, tp, to, w)
        if len(targets) == 0:
            return best
        xn, xc, _, _ = self._ends(sp, so, w, leaving=True)
        gn, gc, go, _ = self._ends_of(targets, metric, False, (tp, to))
        self._run(True, metric, (xn, xc, np.zeros_like(xn)), (gn, gc, go), best, limit=max_cost)
        best[best > max_cost] = INF
        return best

    def many_to_one(
        self, sources: Sequence[Snap], target: Snap, metric: Metric = Metric.TIME, max_cost: float = INF
    ) -> F64:
        """Cost from each source to ``target``; ``inf`` if unreachable or (with ``max_cost``) costlier."""
        metric = Metric(metric)
        w = self._w(metric)
        sp, so = self._arrays(sources)
        tp, to = self._arrays([target])
        best, _ = self._direct(sp, so, tp, to, w)
        if len(sources) == 0:
            return best
        en, ec, _, _ = self._ends(tp, to, w, leaving=False)
        gn, gc, go, _ = self._ends_of(sources, metric, True, (sp, so))
        self._run(False, metric, (en, ec, np.zeros_like(en)), (gn, gc, go), best, limit=max_cost)
        best[best > max_cost] = INF
        return best

    def k_fastest(
        self, sources: Sequence[Snap], target: Snap, k: int, metric: Metric = Metric.TIME
    ) -> list[tuple[int, float]]:
        """The ``k`` sources with least cost to ``target`` as (source index, cost), best first.

        Exact: a reverse search from the target that stops as soon as the k-th
        best cost found is no larger than the next unsettled key. Unreachable
        sources are never returned (fewer than k results if fewer are reachable).
        """
        metric = Metric(metric)
        if k <= 0 or len(sources) == 0:
            return []
        k = min(k, len(sources))
        w = self._w(metric)
        sp, so = self._arrays(sources)
        tp, to = self._arrays([target])
        best, _ = self._direct(sp, so, tp, to, w)
        en, ec, _, _ = self._ends(tp, to, w, leaving=False)
        gn, gc, go, _ = self._ends_of(sources, metric, True, (sp, so))
        _, tk_owner, tk_cost, kc = self._run(False, metric, (en, ec, np.zeros_like(en)), (gn, gc, go), best, k=k)
        return [(int(tk_owner[i]), float(tk_cost[i])) for i in range(kc)]

    def matrix(
        self,
        sources: Sequence[Snap],
        targets: Sequence[Snap],
        metric: Metric = Metric.TIME,
        threads: int | None = None,
        max_cost: float = INF,
    ) -> F64:
        """(len(sources), len(targets)) cost matrix; one early-stopping search per source, threaded.

        Entries above ``max_cost`` (or unreachable) are ``inf``; a finite bound keeps each search local.
        """
        metric = Metric(metric)
        w = self._w(metric)
        out = np.full((len(sources), len(targets)), INF, dtype=np.float64)
        if len(sources) == 0 or len(targets) == 0:
            return out
        sp, so = self._arrays(sources)
        tp, to = self._arrays(targets)
        goals = self._ends_of(targets, metric, False, (tp, to))[:3]
        xn, xc, xo, _ = self._ends_of(sources, metric, True, (sp, so))
        order = np.argsort(xo, kind="stable")
        xptr = np.searchsorted(xo[order], np.arange(len(sources) + 1))

        def row(i: int) -> None:
            best, _ = self._direct(sp[i : i + 1], so[i : i + 1], tp, to, w)
            sel = order[xptr[i] : xptr[i + 1]]
            self._run(True, metric, (xn[sel], xc[sel], np.zeros(sel.size, np.int32)), goals, best, limit=max_cost)
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

    def route(self, a: Snap, b: Snap, metric: Metric = Metric.TIME) -> Route:
        """Least-cost route from ``a`` to ``b``: seconds, metres and a GeoJSON LineString."""
        metric = Metric(metric)
        w = self._w(metric)
        ap, ao = self._arrays([a])
        bp, bo = self._arrays([b])
        d_cost, d_edge = self._direct(ap, ao, bp, bo, w)
        direct, direct_e = float(d_cost[0]), int(d_edge[0])
        best = np.array([direct], dtype=np.float64)
        xn, xc, _, xv = self._ends(ap, ao, w, leaving=True)
        en, ec, _, ev = self._ends(bp, bo, w, leaving=False)
        labels = np.arange(xn.size, dtype=np.int32)
        ws = self._astar(metric, (xn, xc, labels), (en, ec), best, (b.snapped_lon, b.snapped_lat))
        if not math.isfinite(best[0]):
            raise Unreachable(f"no drivable path from ({a.lon:.6f}, {a.lat:.6f}) to ({b.lon:.6f}, {b.lat:.6f})")
        if direct <= best[0] and direct_e >= 0:
            return self._route_on_piece(a, b, direct_e)
        # which entry produced the best cost
        j_best, c_best = -1, INF
        for j in range(en.size):
            node = int(en[j])
            if ws.state[node] == ws.settled and ws.dist[node] + ec[j] < c_best:
                j_best, c_best = j, float(ws.dist[node] + ec[j])
        arcs: list[int] = []
        x = int(en[j_best])
        ftail = self.a["ftail"]
        while ws.pred[x] >= 0:
            arc = int(ws.pred[x])
            arcs.append(arc)
            x = int(ftail[arc])
        arcs.reverse()
        exit_j = int(ws.label[x])  # seed label = index of the exit used
        fedge = self.a["fedge"]
        edges = [int(fedge[arc]) for arc in arcs]
        seconds = float(self.edge_time[edges].sum()) if edges else 0.0
        meters = float(self.edge_len[edges].sum()) if edges else 0.0
        coords: list[tuple[float, float]] = [(a.snapped_lon, a.snapped_lat)]
        e0 = int(xv[exit_j])
        if e0 >= 0:  # partial first edge from the snapped point to its head
            s_m, s_t, part = self._partial(e0, a.offset_m, from_point=True)
            seconds += s_t
            meters += s_m
            coords.extend(part)
        for e in edges:
            coords.extend(self._edge_coords(e))
        e1 = int(ev[j_best])
        if e1 >= 0:
            s_m, s_t, part = self._partial(e1, b.offset_m, from_point=False)
            seconds += s_t
            meters += s_m
            coords.extend(part)
        coords.append((b.snapped_lon, b.snapped_lat))
        return Route(seconds, meters, _linestring(coords))

    def _partial(self, e: int, offset: float, from_point: bool) -> tuple[float, float, list[tuple[float, float]]]:
        """Length, time and coordinates of the part of edge ``e`` after (or before) a point at ``offset``."""
        p = int(self.edge_piece[e])
        length = float(self.piece_len[p])
        fwd = int(self.edge_dir[e]) == 0
        if from_point:
            lo, hi = (offset, length) if fwd else (0.0, offset)
        else:
            lo, hi = (0.0, offset) if fwd else (offset, length)
        frac = (hi - lo) / length if length > 0 else 0.0
        pts = self._piece_between(p, lo, hi)
        if not fwd:
            pts.reverse()
        # include the graph node where the partial edge meets the rest of the route
        node = int(self.piece_v[p]) if fwd else int(self.piece_u[p])
        if not from_point:
            node = int(self.piece_u[p]) if fwd else int(self.piece_v[p])
        xy = (float(self.node_lon[node]), float(self.node_lat[node]))
        pts = [*pts, xy] if from_point else [xy, *pts]
        return frac * float(self.edge_len[e]), frac * float(self.edge_time[e]), pts

    def _piece_between(self, p: int, lo: float, hi: float) -> list[tuple[float, float]]:
        """Interior shape points of piece ``p`` strictly between offsets ``lo`` and ``hi`` (piece order)."""
        s0, s1 = int(self.shape_ptr[p]), int(self.shape_ptr[p + 1])
        cum = self.shape_cum[s0:s1]
        idx = np.flatnonzero((cum > lo) & (cum < hi)) + s0
        return [(float(self.shape_lon[i]), float(self.shape_lat[i])) for i in idx]

    def _edge_coords(self, e: int) -> list[tuple[float, float]]:
        p = int(self.edge_piece[e])
        s0, s1 = int(self.shape_ptr[p]), int(self.shape_ptr[p + 1])
        pts = list(zip(self.shape_lon[s0:s1].tolist(), self.shape_lat[s0:s1].tolist(), strict=True))
        if int(self.edge_dir[e]) == 1:
            pts.reverse()
        return pts

    def _route_on_piece(self, a: Snap, b: Snap, e: int) -> Route:
        p = a.edge
        length = float(self.piece_len[p])
        lo, hi = sorted((a.offset_m, b.offset_m))
        frac = (hi - lo) / length if length > 0 else 0.0
        pts = self._piece_between(p, lo, hi)
        if int(self.edge_dir[e]) == 1:
            pts.reverse()
        coords = [(a.snapped_lon, a.snapped_lat), *pts, (b.snapped_lon, b.snapped_lat)]
        return Route(frac * float(self.edge_time[e]), frac * float(self.edge_len[e]), _linestring(coords))

    # ------------------------------------------------------------------ area queries
    def nearest_source_partition(self, sources: Sequence[Snap], metric: Metric = Metric.TIME) -> I32:
        """For each graph node, the index of the source with least cost *to* it (-1 if unreachable)."""
        metric = Metric(metric)
        if len(sources) == 0:
            return np.full(self.n_nodes, -1, dtype=np.int32)
        sn, sc, sl, _ = self._ends_of(sources, metric, True)
        ws, _, _, _ = self._run(True, metric, (sn, sc, sl), None, np.empty(0, np.float64), track=True)
        return self._per_node(ws)[1]

    def partition_polygons(self, sources: Sequence[Snap], metric: Metric = Metric.TIME) -> list[dict[str, Any] | None]:
        """Area served first by each source, as GeoJSON (Multi)Polygons (``None`` if it serves nothing).

        Every graph node goes to the source that reaches it first
        (:meth:`nearest_source_partition`); each node's Voronoi cell (clipped to
        the network hull + 200 m) goes with it and the cells are dissolved per
        source. This derives station jurisdictions where none are published.
        """
        from jingwu.routing.isochrone import partition_polygons

        labels = self.nearest_source_partition(sources, metric)
        return partition_polygons(self.node_lon, self.node_lat, labels, len(sources))

    def _per_node(self, ws: _Workspace) -> tuple[F64, I32]:
        """Collapse search-node results to graph nodes (min over copies)."""
        reached = ws.state == ws.settled
        dist = np.where(reached, ws.dist, INF)
        label = np.where(reached, ws.label, -1).astype(np.int32)
        n = self.n_nodes
        d_out = dist[:n].copy()
        l_out = label[:n].copy()
        for c in range(n, self.n_search):
            o = int(self.s_orig[c])
            if dist[c] < d_out[o]:
                d_out[o] = dist[c]
                l_out[o] = label[c]
        return d_out, l_out

    def isochrone(self, at: Snap, minutes: float, buffer_m: float = 60.0) -> dict[str, Any]:
        """Area reachable from ``at`` within ``minutes`` by car, as a GeoJSON (Multi)Polygon.

        The reached road lines (fully or partly driven within the budget) are
        buffered by ``buffer_m`` metres; holes smaller than 0.25 km² (blocks
        ringed by reached roads) are filled.
        """
        from jingwu.routing.isochrone import polygon_from_lines

        if not (minutes >= 0 and math.isfinite(minutes)):
            raise InvalidArgument(f"minutes must be a finite number ≥ 0, got {minutes}")
        budget = float(minutes) * 60.0
        w = self.edge_time
        nodes, costs, _, via = self._ends(*self._arrays([at]), w, leaving=True)
        ws, _, _, _ = self._run(
            True, Metric.TIME, (nodes, costs, np.zeros_like(nodes)), None, np.empty(0), limit=budget
        )
        lines: list[list[tuple[float, float]]] = []
        # the snapped piece itself, in each allowed direction
        for e_, c_ in zip(via, costs, strict=True):
            e, c = int(e_), float(c_)
            if e < 0:
                continue
            p = int(self.edge_piece[e])
            length = float(self.piece_len[p])
            fwd = int(self.edge_dir[e]) == 0
            speed_frac = min(1.0, budget / c) if c > 0 else 1.0
            rem = (length - at.offset_m) if fwd else at.offset_m
            reach = rem * speed_frac
            lo, hi = (at.offset_m, at.offset_m + reach) if fwd else (at.offset_m - reach, at.offset_m)
            lines.append(self._piece_cut(p, lo, hi))
        done = np.flatnonzero(ws.state[: self.n_search] == ws.settled)
        arcs, tail_k = self._expand(self.a["fptr"], done)
        t_arc = self.a["ftime"][arcs]
        left = budget - ws.dist[done][tail_k]
        fracs = np.minimum(1.0, np.divide(left, t_arc, out=np.ones_like(left), where=t_arc > 0))
        edge_reach = np.zeros(self.n_edges)
        np.maximum.at(edge_reach, self.a["fedge"][arcs], fracs)
        for e_ in np.flatnonzero(edge_reach > 0):
            e, frac = int(e_), float(edge_reach[e_])
            p = int(self.edge_piece[e])
            length = float(self.piece_len[p])
            if int(self.edge_dir[e]) == 0:
                lines.append(self._piece_cut(p, 0.0, frac * length))
            else:
                lines.append(self._piece_cut(p, length - frac * length, length))
        if not lines:
            lines.append([(at.snapped_lon, at.snapped_lat)])
        return polygon_from_lines(lines, (at.snapped_lon, at.snapped_lat), buffer_m)

    def _piece_cut(self, p: int, lo: float, hi: float) -> list[tuple[float, float]]:
        """Coordinates of piece ``p`` between offsets ``lo`` ≤ ``hi`` (interpolated ends)."""
        return [self._point_at(p, lo), *self._piece_between(p, lo, hi), self._point_at(p, hi)]

    def _point_at(self, p: int, offset: float) -> tuple[float, float]:
        s0, s1 = int(self.shape_ptr[p]), int(self.shape_ptr[p + 1])
        cum = self.shape_cum[s0:s1]
        i = int(np.searchsorted(cum, offset, side="right")) - 1
        i = min(max(i, 0), s1 - s0 - 2)
        seg = float(cum[i + 1] - cum[i])
        t = 0.0 if seg <= 0 else min(max((offset - float(cum[i])) / seg, 0.0), 1.0)
        j = s0 + i
        return (
            float(self.shape_lon[j] + t * (self.shape_lon[j + 1] - self.shape_lon[j])),
            float(self.shape_lat[j] + t * (self.shape_lat[j + 1] - self.shape_lat[j])),
        )

    # ------------------------------------------------------------------ map layer
    def roads_geojson(self) -> dict[str, Any]:
        """FeatureCollection of road LineStrings (consecutive pieces of a way merged), 6-dp coordinates.

        Properties: ``highway``, ``name``, ``oneway`` (true: drivable only in the
        direction of the coordinates).
        """
        features: list[dict[str, Any]] = []
        way = self.a["piece_way"]
        pdir = self.a["piece_dir"]
        hw = self.a["piece_highway"]
        nm = self.a["piece_name"]
        lon = np.round(self.shape_lon, 6)
        lat = np.round(self.shape_lat, 6)
        p = 0
        n = self.n_pieces
        while p < n:
            q = p
            while (
                q + 1 < n and way[q + 1] == way[p] and self.piece_v[q] == self.piece_u[q + 1] and pdir[q + 1] == pdir[p]
            ):
                q += 1
            s0, s1 = int(self.shape_ptr[p]), int(self.shape_ptr[q + 1])
            keep = np.ones(s1 - s0, dtype=bool)
            # drop the duplicated joint points between merged pieces
            joints = self.shape_ptr[p + 1 : q + 1] - s0
            keep[joints] = False
            xs = lon[s0:s1][keep]
            ys = lat[s0:s1][keep]
            coords = np.column_stack([xs, ys])
            direction = int(pdir[p])
            if direction == 2:
                coords = coords[::-1]
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": coords.tolist()},
                    "properties": {
                        "highway": HIGHWAY_CLASSES[int(hw[p])],
                        "name": self._names[int(nm[p])],
                        "oneway": direction != 3,
                    },
                }
            )
            p = q + 1
        return {"type": "FeatureCollection", "features": features}


def _linestring(coords: list[tuple[float, float]]) -> dict[str, Any]:
    out: list[list[float]] = []
    for x, y in coords:
        pt = [round(x, 7), round(y, 7)]
        if not out or out[-1] != pt:
            out.append(pt)
    if len(out) == 1:
        out.append(list(out[0]))
    return {"type": "LineString", "coordinates": out}
