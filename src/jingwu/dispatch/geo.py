"""Placing calls and units on the map: snapping to roads, the served area,
town and station lookup by polygon, travel-time ranking of units.

Adapts the routing engine and shapely to what dispatch services need; built
once per process from the towns and station jurisdictions and cached.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jingwu.platform.areas import AreaIndex
from jingwu.platform.errors import InvalidInput
from jingwu.routing.domain import Metric, RoutingError, Snap
from jingwu.routing.graph import RoadGraph


@dataclass(frozen=True)
class Area:
    id: str
    code: str
    agency_id: str
    geometry: dict[str, Any]  # GeoJSON


class Geo:
    def __init__(self, graph: RoadGraph, towns: list[Area], stations: list[Area],
                 station_points: dict[str, tuple[float, float]], max_snap_m: float = 500.0) -> None:
        self.graph = graph
        self.max_snap_m = max_snap_m
        self._town_codes = {t.id: t.code for t in towns}
        self._towns = AreaIndex([(t, t.geometry) for t in towns])
        self._stations = AreaIndex([(s.agency_id, s.geometry) for s in stations])
        self.station_points = station_points
        self._snap_cache: dict[tuple[float, float], Snap] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_rows(cls, graph: RoadGraph, towns: Sequence[Any], agencies: Sequence[Any]) -> Geo:
        # inactive towns and stations keep their history but receive no new calls by location
        ts = [Area(t.id, t.code, t.agency_id, t.geometry) for t in towns if t.geometry and t.active]
        st = [Area(a.id, a.code, a.id, a.jurisdiction) for a in agencies
              if a.kind == "station" and a.jurisdiction and a.active]
        pts = {a.id: (a.lon, a.lat) for a in agencies if a.kind in ("station", "fire_station") and a.lon is not None}
        return cls(graph, ts, st, pts)

    def town_code(self, town_id: str) -> str | None:
        return self._town_codes.get(town_id)

    # -------------------------------------------------------------- placing
    def snap(self, lon: float, lat: float) -> Snap:
        """Snap a reported position; 422 with the routing code when it cannot be placed."""
        try:
            return self.graph.snap(lon, lat, self.max_snap_m)
        except RoutingError as exc:
            code = exc.code
            x0, y0, x1, y1 = self.graph.bbox
            if code == "off_network" and not (x0 <= lon <= x1 and y0 <= lat <= y1):
                code = "outside_area"
            raise InvalidInput(exc.message, code=code) from exc

    def snap_cached(self, lon: float, lat: float) -> Snap | None:
        key = (round(lon, 6), round(lat, 6))
        s = self._snap_cache.get(key)
        if s is None:
            try:
                s = self.graph.snap(lon, lat, 5000.0)
            except RoutingError:
                return None
            with self._lock:
                if len(self._snap_cache) > 50_000:
                    self._snap_cache.clear()
                self._snap_cache[key] = s
        return s

    def town_at(self, lon: float, lat: float) -> Area | None:
        return self._towns.locate(lon, lat)

    def station_at(self, lon: float, lat: float) -> str | None:
        """The station whose jurisdiction holds the point, else the nearest station."""
        return self._stations.nearest(lon, lat)

    # -------------------------------------------------------------- ranking
    def etas(self, sources: list[Snap], target: Snap) -> np.ndarray:
        """Seconds by road from each source to the target (inf when unreachable)."""
        if not sources:
            return np.zeros(0)
        return np.asarray(self.graph.many_to_one(sources, target, Metric.TIME))

    def route_geojson(self, a: Snap, b: Snap) -> dict[str, Any]:
        return self.graph.route(a, b).to_dict()
