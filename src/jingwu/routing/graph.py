"""RoadGraph: the loaded road network (its arrays, sizes and piece geometry), snapping, and
the one public entry point of every query on it.

The graph is a set of numpy arrays (see :mod:`jingwu.routing.build`). This
module owns them and the point-to-road snap; the rest lives beside it and
the RoadGraph methods of the same names delegate there:

- :mod:`~jingwu.routing.cache`: build from OSM, load / save the on-disk cache;
- :mod:`~jingwu.routing.search`: one-to-many, many-to-one, k fastest, matrix,
  route (seeds and goals from snaps and SnapBatch in :mod:`~jingwu.routing.endpoints`);
- :mod:`~jingwu.routing.areas`: isochrone, nearest-source partition and its polygons;
- :mod:`~jingwu.routing.maplayer`: the road layer as GeoJSON.

Those modules also read the graph's private search state set up in
``__init__`` (``_tls``, ``_heap_base``, ``_vmax``, ``_xyz_cache``, ``_token``,
``_names``) and its piece-geometry helpers. A ``RoadGraph`` is safe to share
between threads: each thread gets its own search workspace.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from jingwu.routing import areas, cache, kernels, maplayer, search
from jingwu.routing.build import Arrays, build_arrays
from jingwu.routing.domain import (
    ImportReport,
    InvalidArgument,
    Metric,
    OffNetwork,
    Route,
    Snap,
    check_lonlat,
)
from jingwu.routing.endpoints import SnapBatch
from jingwu.routing.geodesy import haversine_m
from jingwu.routing.kernels import F64, I32, INF
from jingwu.routing.osm_import import PieceTable

_TOKENS = itertools.count()


class RoadGraph:
    """A directed road graph of one travel mode (``car`` unless built for another profile, see
    :mod:`jingwu.routing.profiles`) with snapping and exact shortest-path queries."""

    def __init__(self, arrays: Arrays, report: ImportReport, mode: str = "car") -> None:
        a = cache.with_derived(arrays)
        self.a = a
        self.report = report
        self.mode = mode
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
        self._xyz_cache: F64 | None = None  # A* node coordinates, computed on first route
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
    def from_pieces(cls, table: PieceTable, progress: bool = False, mode: str = "car") -> RoadGraph:
        arrays, report = build_arrays(table, progress=progress)
        return cls(arrays, report, mode=mode)

    @classmethod
    def build(cls, osm_path: Path, progress: bool = False, mode: str = "car") -> RoadGraph:
        """Read and assemble an OSM file for a travel mode without touching any cache."""
        return cache.build(cls, osm_path, progress, mode)

    @staticmethod
    def cache_path(osm_path: Path, cache_dir: Path, mode: str = "car") -> Path:
        """Cache file for this exact source content (SHA-256), travel profile and on-disk format version."""
        return cache.cache_path(osm_path, cache_dir, mode)

    @classmethod
    def load_or_build(cls, osm_path: Path, cache_dir: Path, progress: bool = False, mode: str = "car") -> RoadGraph:
        """Load the cached graph of ``mode`` for ``osm_path`` or build and cache it (atomic write)."""
        return cache.load_or_build(cls, osm_path, cache_dir, progress, mode)

    def save(self, path: Path) -> None:
        """Write the graph atomically: a temp file in the same directory, then ``os.replace``."""
        cache.save(self, path)

    @classmethod
    def load(cls, path: Path, mode: str = "car") -> RoadGraph:
        return cache.load(cls, path, mode)

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

    # ------------------------------------------------------------------ piece geometry
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

    # ------------------------------------------------------------------ path queries (search.py)
    def prepare(self, snaps: Sequence[Snap]) -> SnapBatch:
        """Prepare snaps (e.g. the units) once for many queries; accepted wherever a sequence of snaps is."""
        return SnapBatch(snaps)

    def one_to_many(
        self, source: Snap, targets: Sequence[Snap], metric: Metric = Metric.TIME, max_cost: float = INF
    ) -> F64:
        """Cost from ``source`` to each target (seconds or metres); ``inf`` if unreachable.

        ``max_cost`` bounds the search: targets costing more come back as ``inf`` (faster on big graphs).
        """
        return search.one_to_many(self, source, targets, metric, max_cost)

    def many_to_one(
        self, sources: Sequence[Snap], target: Snap, metric: Metric = Metric.TIME, max_cost: float = INF
    ) -> F64:
        """Cost from each source to ``target``; ``inf`` if unreachable or (with ``max_cost``) costlier."""
        return search.many_to_one(self, sources, target, metric, max_cost)

    def k_fastest(
        self, sources: Sequence[Snap], target: Snap, k: int, metric: Metric = Metric.TIME
    ) -> list[tuple[int, float]]:
        """The ``k`` sources with least cost to ``target`` as (source index, cost), best first.

        Exact: a reverse search from the target that stops as soon as the k-th
        best cost found is no larger than the next unsettled key. Unreachable
        sources are never returned (fewer than k results if fewer are reachable).
        """
        return search.k_fastest(self, sources, target, k, metric)

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
        return search.matrix(self, sources, targets, metric, threads, max_cost)

    def route(self, a: Snap, b: Snap, metric: Metric = Metric.TIME) -> Route:
        """Least-cost route from ``a`` to ``b``: seconds, metres and a GeoJSON LineString."""
        return search.route(self, a, b, metric)

    # ------------------------------------------------------------------ area queries (areas.py)
    def nearest_source_partition(self, sources: Sequence[Snap], metric: Metric = Metric.TIME) -> I32:
        """For each graph node, the index of the source with least cost *to* it (-1 if unreachable)."""
        return areas.nearest_source_partition(self, sources, metric)

    def node_costs(self, sources: Sequence[Snap], metric: Metric = Metric.TIME, reverse: bool = False,
                   max_cost: float = INF) -> F64:
        """(len(sources), n_nodes) cost from each source to every graph node, or with ``reverse`` from every
        node to each source (inf beyond ``max_cost`` or unreachable): one full search per source, the
        many-to-many table a simulation or a planner looks calls and demand points up in."""
        return areas.node_costs(self, sources, metric, reverse, max_cost)

    def partition_polygons(self, sources: Sequence[Snap], metric: Metric = Metric.TIME) -> list[dict[str, Any] | None]:
        """Area served first by each source, as GeoJSON (Multi)Polygons (``None`` if it serves nothing).

        Every graph node goes to the source that reaches it first
        (:meth:`nearest_source_partition`); each node's Voronoi cell (clipped to
        the network hull + 200 m) goes with it and the cells are dissolved per
        source. This derives station jurisdictions where none are published.
        """
        return areas.partition_polygons(self, sources, metric)

    def isochrone(self, at: Snap, minutes: float, buffer_m: float = 60.0) -> dict[str, Any]:
        """Area reachable from ``at`` within ``minutes`` in the graph's travel mode, as a GeoJSON (Multi)Polygon.

        The reached road lines (fully or partly driven within the budget) are
        buffered by ``buffer_m`` metres; holes smaller than 0.25 km² (blocks
        ringed by reached roads) are filled.
        """
        return areas.isochrone(self, at, minutes, buffer_m)

    # ------------------------------------------------------------------ map layer (maplayer.py)
    def roads_geojson(self) -> dict[str, Any]:
        """FeatureCollection of road LineStrings (consecutive pieces of a way merged), 6-dp coordinates.

        Properties: ``highway``, ``name``, ``oneway`` (true: drivable only in the
        direction of the coordinates).
        """
        return maplayer.roads_geojson(self)
