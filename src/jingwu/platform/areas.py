"""Point-in-area lookup: which town (or station jurisdiction) holds a point. One index over GeoJSON
polygons (shapely STRtree), for one point or many at once; on a shared border the area listed first wins.
Used by dispatch (placing calls) and the Safety Index (placing events and imported records)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry import Point, shape

K = TypeVar("K")


class AreaIndex(Generic[K]):
    """Areas keyed by ``K`` (an id, or a richer value object); areas without a geometry are left out."""

    def __init__(self, areas: Sequence[tuple[K, dict[str, Any] | None]]) -> None:
        kept = [(k, g) for k, g in areas if g]
        self.keys: list[K] = [k for k, _ in kept]
        self.geoms = [shape(g) for _, g in kept]
        self._tree = STRtree(self.geoms) if self.geoms else None

    def __len__(self) -> int:
        return len(self.keys)

    def locate(self, lon: float, lat: float) -> K | None:
        if self._tree is None:
            return None
        hits = self._tree.query(Point(lon, lat), predicate="intersects")
        return self.keys[int(hits.min())] if len(hits) else None

    def locate_many(self, lon: np.ndarray[Any, Any], lat: np.ndarray[Any, Any]) -> list[K | None]:
        out: list[K | None] = [None] * len(lon)
        if self._tree is None or not len(lon):
            return out
        pairs = self._tree.query(shapely.points(lon, lat), predicate="intersects")
        best: dict[int, int] = {}
        for p_i, g_i in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True):
            if p_i not in best or g_i < best[p_i]:
                best[p_i] = g_i
        for p_i, g_i in best.items():
            out[p_i] = self.keys[g_i]
        return out

    def nearest(self, lon: float, lat: float) -> K | None:
        """The area holding the point, else the one nearest to it (None when there are no areas)."""
        hit = self.locate(lon, lat)
        if hit is not None or not self.geoms:
            return hit
        p = Point(lon, lat)
        i = min(range(len(self.geoms)), key=lambda j: self.geoms[j].distance(p))
        return self.keys[i]


POLYGON_TYPES = ("Polygon", "MultiPolygon")


def checked_polygon(geometry: Any, *, what: str = "boundary") -> tuple[dict[str, Any], float]:
    """A GeoJSON Polygon or MultiPolygon (a Feature or a one-feature FeatureCollection is unwrapped) in
    WGS84 lon/lat, checked: the right type, coordinates in range, valid (shapely ``is_valid``; the reason
    is named), not empty. Returns (the geometry, its area in km²). Raises ``InvalidInput`` with code
    ``invalid_geometry``."""
    from shapely.errors import ShapelyError
    from shapely.validation import explain_validity

    from jingwu.platform.errors import InvalidInput

    def bad(msg: str) -> InvalidInput:
        return InvalidInput(f"The {what} {msg}.", code="invalid_geometry")

    g = geometry
    if isinstance(g, dict) and g.get("type") == "FeatureCollection":
        feats = g.get("features") or []
        if len(feats) != 1:
            raise bad(f"must be one polygon; the FeatureCollection has {len(feats)} features")
        g = feats[0]
    if isinstance(g, dict) and g.get("type") == "Feature":
        g = g.get("geometry")
    if not isinstance(g, dict) or g.get("type") not in POLYGON_TYPES:
        kind = g.get("type") if isinstance(g, dict) else type(g).__name__
        raise bad(f"must be a GeoJSON Polygon or MultiPolygon, not {kind}")
    try:
        shp = shape(g)
    except (ShapelyError, ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise bad(f"has malformed coordinates ({exc})") from None
    if shp.is_empty:
        raise bad("is empty")
    x0, y0, x1, y1 = shp.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise bad(f"has coordinates out of range (bounds {x0:.4f},{y0:.4f} – {x1:.4f},{y1:.4f}; "
                  "GeoJSON is [longitude, latitude])")
    if not shp.is_valid:
        raise bad(f"is not a valid polygon: {explain_validity(shp)}")
    return shapely.geometry.mapping(shp), area_km2(shp)


def area_km2(shp: Any) -> float:
    """Area in km² on a local equal-area projection (Lambert azimuthal about the centroid; exact enough for
    a district: error well below 0.1 % over tens of kilometres)."""
    import math

    c = shp.centroid
    lat0, lon0 = math.radians(c.y), math.radians(c.x)
    r = 6_371.0088

    def project(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> tuple[Any, Any]:
        lam, phi = np.radians(x) - lon0, np.radians(y)
        k = np.sqrt(2 / (1 + math.sin(lat0) * np.sin(phi) + math.cos(lat0) * np.cos(phi) * np.cos(lam)))
        return (r * k * np.cos(phi) * np.sin(lam),
                r * k * (math.cos(lat0) * np.sin(phi) - math.sin(lat0) * np.cos(phi) * np.cos(lam)))

    return float(shapely.transform(shp, lambda xy: np.column_stack(project(xy[:, 0], xy[:, 1]))).area)
