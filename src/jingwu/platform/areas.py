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
