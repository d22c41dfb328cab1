"""Station jurisdictions by road: every road node belongs to the station that reaches it first, and the
Voronoi cells of the nodes are dissolved by station into one polygon per station (enclaves joined to the
neighbour they share the longest border with). Used by ``jingwu setup`` (the jurisdictions of the
stations, and the towns of the nearest-station fallback) and by the demo city loader.
docs/methods/demo-city.md ("Station jurisdictions") describes the method.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from shapely import MultiPoint, Point, box, unary_union, voronoi_polygons

if TYPE_CHECKING:
    from jingwu.routing.graph import RoadGraph


def km2(geom: Any, lat0: float) -> float:
    """Area of a lon/lat geometry in km² (local equirectangular projection, fine at city scale)."""
    kx = 111.320 * math.cos(math.radians(lat0))
    ky = 110.574
    return float(geom.area * kx * ky)


def jurisdiction_polygons(node_lonlat: np.ndarray, owner: np.ndarray, n_sources: int,
                          frame: Any) -> list[Any]:
    """Dissolve the Voronoi cells of road nodes by the station that reaches them first."""
    pts = MultiPoint([tuple(p) for p in node_lonlat])
    cells = voronoi_polygons(pts, extend_to=frame, ordered=True)
    out = []
    for i in range(n_sources):
        mine = [cells.geoms[j].intersection(frame) for j in np.flatnonzero(owner == i)]
        out.append(unary_union(mine).buffer(0) if mine else None)
    return out


def contiguous_jurisdictions(polys: list[Any], seats: list[tuple[float, float]]) -> list[Any]:
    """Make each jurisdiction one piece around its station.

    Nearest-by-road leaves enclaves (an elevated ring road reaches far nodes
    first). Each fragment not containing its station joins the neighbouring
    jurisdiction with which it shares the longest border.
    """
    def parts(g: Any) -> list[Any]:
        return [] if g is None or g.is_empty else list(getattr(g, "geoms", [g]))

    home: list[Any] = []
    orphans: list[Any] = []
    for g, (lon, lat) in zip(polys, seats, strict=True):
        ps = parts(g)
        if not ps:
            home.append(None)
            continue
        seat = Point(lon, lat)
        keep = min(ps, key=lambda q: q.distance(seat))
        home.append(keep)
        orphans.extend(q for q in ps if q is not keep)
    # largest fragments first so that small ones can attach to them in later rounds
    pending = sorted(orphans, key=lambda q: -q.area)
    for _ in range(5):
        left = []
        for frag in pending:
            border = [(h.boundary.intersection(frag.boundary.buffer(1e-7)).length if h is not None else 0.0)
                      for h in home]
            best = int(np.argmax(border))
            if border[best] <= 0:
                left.append(frag)
                continue
            home[best] = unary_union([home[best], frag]).buffer(0)
        if not left:
            break
        pending = left
    return home


def station_jurisdictions(graph: RoadGraph, seats: Sequence[tuple[float, float]],
                          max_snap_m: float = 2000.0) -> list[Any]:
    """One shapely polygon (or None) per station seat: the part of the graph's bounding box whose road
    nodes the station reaches first by road, made contiguous."""
    snaps = [graph.snap(lon, lat, max_distance_m=max_snap_m) for lon, lat in seats]
    owner = np.asarray(graph.nearest_source_partition(snaps))
    coords = np.asarray(graph.node_coords())
    west, south, east, north = graph.bbox
    frame = box(west, south, east, north)
    polys = jurisdiction_polygons(coords[owner >= 0], owner[owner >= 0], len(seats), frame)
    return contiguous_jurisdictions(polys, list(seats))
