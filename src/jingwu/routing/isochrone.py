"""Isochrone geometry: reached road lines → buffered GeoJSON (Multi)Polygon in WGS84.

Works in a local equirectangular projection (metres) centred on the start
point, buffers the reached lines with shapely, fills small holes (city blocks
enclosed by reached roads), simplifies to a few metres and returns GeoJSON
with coordinates rounded to 6 decimals (~0.1 m).
"""

from __future__ import annotations

import math
from typing import Any

import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, mapping

_R = 6371008.8
HOLE_FILL_M2 = 250_000.0
SIMPLIFY_M = 5.0


def polygon_from_lines(
    lines: list[list[tuple[float, float]]], origin: tuple[float, float], buffer_m: float
) -> dict[str, Any]:
    lon0, lat0 = origin
    ky = _R * math.pi / 180.0
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
