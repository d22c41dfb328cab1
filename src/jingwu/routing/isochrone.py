"""Area geometry: isochrones (reached road lines → buffered polygon) and partition polygons
(Voronoi cells of road nodes dissolved by their nearest source), GeoJSON in WGS84.

Works in a local equirectangular projection (metres) centred on the start
point, buffers the reached lines with shapely, fills small holes (city blocks
enclosed by reached roads), simplifies to a few metres and returns GeoJSON
with coordinates rounded to 6 decimals (~0.1 m). The searches that produce the
lines and labels are in :mod:`jingwu.routing.areas`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, mapping

from jingwu.routing.geodesy import EARTH_RADIUS_M

HOLE_FILL_M2 = 250_000.0
SIMPLIFY_M = 5.0


def polygon_from_lines(
    lines: list[list[tuple[float, float]]], origin: tuple[float, float], buffer_m: float
) -> dict[str, Any]:
    lon0, lat0 = origin
    ky = EARTH_RADIUS_M * math.pi / 180.0
    kx = ky * math.cos(math.radians(lat0))
    proj: list[list[tuple[float, float]]] = []
    for line in lines:
        pts = [((x - lon0) * kx, (y - lat0) * ky) for x, y in line]
        if len(pts) == 1:
            pts = [pts[0], pts[0]]
        proj.append(pts)
    # buffering lines one by one and unioning is ~10x faster than buffering one MultiLineString
    lines_arr = shapely.linestrings(proj) if len({len(p) for p in proj}) == 1 else [LineString(p) for p in proj]
    geom = shapely.union_all(shapely.buffer(lines_arr, buffer_m, quad_segs=4))
    geom = _fill_holes(geom)
    geom = geom.simplify(SIMPLIFY_M, preserve_topology=True)
    geom = shapely.transform(geom, lambda xy: xy / [kx, ky] + [lon0, lat0])
    geom = shapely.set_precision(geom, 1e-6)
    out: dict[str, Any] = _lists(mapping(geom))
    return out


def _fill_holes(geom: shapely.Geometry) -> shapely.Geometry:
    def fill(p: Polygon) -> Polygon:
        holes = [r for r in p.interiors if Polygon(r).area >= HOLE_FILL_M2]
        return Polygon(p.exterior, holes)

    if isinstance(geom, Polygon):
        return fill(geom)
    if isinstance(geom, MultiPolygon):
        return MultiPolygon([fill(p) for p in geom.geoms])
    return geom


def _lists(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _lists(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        if obj and isinstance(obj[0], float | int) and not isinstance(obj[0], bool):
            return [round(float(v), 6) for v in obj]
        return [_lists(v) for v in obj]
    return obj


def partition_polygons(
    lon: npt.NDArray[np.float64],
    lat: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int32],
    n_sources: int,
    margin_m: float = 200.0,
) -> list[dict[str, Any] | None]:
    """Dissolve the Voronoi cells of labelled road nodes into one (Multi)Polygon per source.

    Cells are computed in a local metric projection, clipped to the network's
    convex hull grown by ``margin_m``; nodes labelled -1 (unreachable) are
    left out. Returns GeoJSON geometries (``None`` for a source that owns no
    node).
    """
    lon0, lat0 = float(lon.mean()), float(lat.mean())
    ky = EARTH_RADIUS_M * math.pi / 180.0
    kx = ky * math.cos(math.radians(lat0))
    xy = np.column_stack([(lon - lon0) * kx, (lat - lat0) * ky])
    xy_u, first = np.unique(np.round(xy, 3), axis=0, return_index=True)
    lab = labels[first]
    pts = shapely.multipoints(xy_u)
    hull = shapely.convex_hull(pts).buffer(margin_m)
    cells = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=hull, ordered=True))
    cells = shapely.intersection(cells, hull)
    out: list[dict[str, Any] | None] = []
    for i in range(n_sources):
        mine = cells[lab == i]
        if mine.size == 0:
            out.append(None)
            continue
        geom = shapely.coverage_union_all(mine)
        geom = shapely.transform(geom, lambda v: v / [kx, ky] + [lon0, lat0])
        geom = shapely.set_precision(geom, 1e-6)
        out.append(_lists(mapping(geom)))
    return out
