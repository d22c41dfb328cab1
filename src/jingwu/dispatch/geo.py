"""Placing calls and units on the map: snapping to roads, the served area,
town and station lookup by polygon, travel-time ranking of units.

Adapts the routing engine and shapely to what dispatch services need; built
once per process from the towns and station jurisdictions and cached. Calls are
placed on the car graph (``graph``); a unit snaps to, and its ETA and route are
computed on, the graph of its own travel mode (``graph_for``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jingwu.platform.areas import AreaIndex
from jingwu.platform.errors import AppError, InvalidInput
from jingwu.routing.domain import Metric, RoutingError, Snap
from jingwu.routing.gazetteer.search import Gazetteer
from jingwu.routing.graph import RoadGraph

# Calls that arrive with an address and no coordinates are placed on the geocoder's best result when its
# confidence reaches this (docs/methods/geocoding.md, "Calls located by address").
GEOCODE_MIN_CONFIDENCE = 0.8


@dataclass(frozen=True)
class AddressFix:
    """The geocoder's best reading of a call's address: used when ``used`` (confidence ≥ threshold)."""

    query: str
    used: bool
    confidence: float
    threshold: float
    kind: str
    name: str
    lon: float
    lat: float

    def detail(self) -> dict[str, Any]:
        return {"source": "geocoder", "query": self.query, "used": self.used, "confidence": round(self.confidence, 3),
                "threshold": self.threshold, "kind": self.kind, "name": self.name, "lon": round(self.lon, 7),
                "lat": round(self.lat, 7)}


@dataclass(frozen=True)
class Placement:
    """Where a reported position falls (docs/methods/dispatch.md, "Location status").

    ``status`` is ``located`` (snapped to the served road network), ``unlocated`` (inside the served area but
    too far from any road to place: a call-taker places it by hand) or ``outside_area``; ``reason`` is the
    routing code of a failed snap (``off_network``) or ``outside_area``."""

    status: str
    snap: Snap | None = None
    town: Area | None = None
    station: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Area:
    id: str
    code: str
    agency_id: str
    geometry: dict[str, Any]  # GeoJSON


class Geo:
    def __init__(self, graph: RoadGraph, towns: list[Area], stations: list[Area],
                 station_points: dict[str, tuple[float, float]], max_snap_m: float = 500.0,
                 graphs: Callable[[str], RoadGraph] | None = None,
                 gazetteer: Callable[[], Gazetteer] | None = None,
                 geocode_min_confidence: float = GEOCODE_MIN_CONFIDENCE) -> None:
        self.graph = graph  # the car graph: calls are placed on it
        self._graphs = graphs  # travel mode -> its graph (None: every mode on ``graph``)
        self.gazetteer = gazetteer
        self.geocode_min_confidence = geocode_min_confidence
        self.max_snap_m = max_snap_m
        self._town_codes = {t.id: t.code for t in towns}
        self._towns = AreaIndex([(t, t.geometry) for t in towns])
        self._stations = AreaIndex([(s.agency_id, s.geometry) for s in stations])
        self.station_points = station_points
        self._snap_cache: dict[tuple[str, float, float], Snap] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_rows(cls, graph: RoadGraph, towns: Sequence[Any], agencies: Sequence[Any],
                  graphs: Callable[[str], RoadGraph] | None = None,
                  gazetteer: Callable[[], Gazetteer] | None = None) -> Geo:
        # inactive towns and stations keep their history but receive no new calls by location
        ts = [Area(t.id, t.code, t.agency_id, t.geometry) for t in towns if t.geometry and t.active]
        st = [Area(a.id, a.code, a.id, a.jurisdiction) for a in agencies
              if a.kind == "station" and a.jurisdiction and a.active]
        pts = {a.id: (a.lon, a.lat) for a in agencies if a.kind in ("station", "fire_station") and a.lon is not None}
        return cls(graph, ts, st, pts, graphs=graphs, gazetteer=gazetteer)

    def graph_for(self, mode: str) -> RoadGraph:
        """The road graph a unit of this travel mode moves on."""
        if mode == "car" or self._graphs is None:
            return self.graph
        return self._graphs(mode)

    def geocode_address(self, address: str) -> AddressFix | None:
        """The geocoder's best result for a call's address (None without a gazetteer or a match)."""
        if self.gazetteer is None or not address.strip():
            return None
        try:
            hits = self.gazetteer().search(address[:200], limit=1)
        except AppError:  # no gazetteer for the served file: the call stays unlocated, never refused
            return None
        if not hits:
            return None
        h = hits[0]
        return AddressFix(address, h.confidence >= self.geocode_min_confidence, h.confidence,
                          self.geocode_min_confidence, h.kind, h.name, h.lon, h.lat)

    def town_code(self, town_id: str) -> str | None:
        return self._town_codes.get(town_id)

    # -------------------------------------------------------------- placing
    def snap(self, lon: float, lat: float, mode: str = "car") -> Snap:
        """Snap a reported position (onto the graph of ``mode``); 422 with the routing code when it cannot be
        placed."""
        graph = self.graph_for(mode)
        try:
            return graph.snap(lon, lat, self.max_snap_m)
        except RoutingError as exc:
            code = exc.code
            x0, y0, x1, y1 = graph.bbox
            if code == "off_network" and not (x0 <= lon <= x1 and y0 <= lat <= y1):
                code = "outside_area"
            raise InvalidInput(exc.message, code=code) from exc

    def in_extent(self, lon: float, lat: float) -> bool:
        """Within the served road network's bounding box."""
        x0, y0, x1, y1 = self.graph.bbox
        return x0 <= lon <= x1 and y0 <= lat <= y1

    def place(self, lon: float, lat: float) -> Placement:
        """Classify a position; never refuses one (only a malformed coordinate raises).

        located: within ``max_snap_m`` of the served network (station: the jurisdiction holding it, else the
        nearest); outside_area: not placeable and outside the network's extent or outside every station
        jurisdiction and town (when the deployment has any); unlocated: not placeable but inside the area."""
        try:
            s = self.graph.snap(lon, lat, self.max_snap_m)
        except RoutingError as exc:
            if exc.code != "off_network":
                raise InvalidInput(exc.message, code=exc.code) from exc
            has_areas = len(self._stations) > 0 or len(self._towns) > 0
            inside = self.in_extent(lon, lat) and (not has_areas or self._stations.locate(lon, lat) is not None
                                                   or self._towns.locate(lon, lat) is not None)
            if not inside:
                return Placement("outside_area", reason="outside_area")
            return Placement("unlocated", town=self.town_at(lon, lat), station=self._stations.locate(lon, lat),
                             reason="off_network")
        return Placement("located", s, self.town_at(lon, lat), self.station_at(lon, lat))

    def snap_cached(self, lon: float, lat: float, mode: str = "car") -> Snap | None:
        """Snap onto the graph of ``mode`` within 5 km (None if nothing is that close); remembered per point."""
        key = (mode, round(lon, 6), round(lat, 6))
        s = self._snap_cache.get(key)
        if s is None:
            try:
                s = self.graph_for(mode).snap(lon, lat, 5000.0)
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
    def etas(self, sources: list[Snap], target: Snap, mode: str = "car") -> np.ndarray:
        """Seconds from each source to the target on the graph of ``mode`` (inf when unreachable); sources
        and target must be snapped onto that graph."""
        if not sources:
            return np.zeros(0)
        return np.asarray(self.graph_for(mode).many_to_one(sources, target, Metric.TIME))

    def route_geojson(self, a: Snap, b: Snap, mode: str = "car") -> dict[str, Any]:
        return {**self.graph_for(mode).route(a, b).to_dict(), "travel_mode": mode}
