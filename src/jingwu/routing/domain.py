"""Routing domain: value objects (Snap, Route, Metric, ImportReport) and errors.

Standard library only: the import-linter contract forbids frameworks and
databases in ``*.domain`` modules. Everything else in ``jingwu.routing``
(graph, kernels, OSM import, CLI) speaks in these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Metric(StrEnum):
    """What a search minimises: travel time (seconds) or distance (metres)."""

    TIME = "time"
    DISTANCE = "distance"


class RoutingError(Exception):
    """Base of every routing failure; ``code`` is machine-readable, the message is for humans."""

    code: str = "routing_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class InvalidCoordinate(RoutingError):
    """Longitude/latitude not finite or outside [-180, 180] × [-90, 90], or malformed text."""

    code = "invalid_coordinate"


class OffNetwork(RoutingError):
    """No drivable road within the allowed snapping distance."""

    code = "off_network"


class OsmEmpty(RoutingError):
    """The OSM file is empty or holds no OSM objects."""

    code = "osm_empty"


class OsmCorrupt(RoutingError):
    """The OSM file cannot be parsed (truncated, not OSM, bad format) or does not exist."""

    code = "osm_corrupt"


class NoDrivableRoads(RoutingError):
    """The OSM file parses but holds no drivable road network."""

    code = "no_drivable_roads"


class InvalidArgument(RoutingError):
    """A query parameter is out of range (e.g. negative minutes, unknown metric)."""

    code = "invalid_argument"


class Unreachable(RoutingError):
    """No path exists between the points (e.g. turn restrictions or a one-way trap)."""

    code = "unreachable"


@dataclass(frozen=True)
class Snap:
    """A point moved onto the road network.

    ``edge`` is the index of the road *piece* (an undirected stretch of one OSM
    way between two graph nodes, with its full geometry); ``offset_m`` is the
    distance along that piece's geometry from its first point to the snapped
    point. Both travel directions of the piece (if the way allows them) are
    usable from a snap.
    """

    lon: float
    lat: float
    edge: int
    offset_m: float
    snapped_lon: float
    snapped_lat: float
    distance_m: float
    edge_length_m: float = 0.0


@dataclass(frozen=True)
class Route:
    """One route: cost in both units and a GeoJSON LineString (WGS84 lon/lat)."""

    seconds: float
    meters: float
    geometry: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "meters": self.meters, "geometry": self.geometry}


@dataclass(frozen=True)
class ImportReport:
    """What an OSM import kept and dropped (shown by ``jingwu import osm``)."""

    source: str
    ways_read: int = 0
    drivable_ways: int = 0
    nodes: int = 0
    edges: int = 0
    pieces: int = 0
    dropped_components: int = 0
    dropped_nodes: int = 0
    dropped_edges: int = 0
    dropped_km: float = 0.0
    reversible_ways_dropped: int = 0
    access_denied_ways: int = 0
    restrictions_applied: int = 0
    restrictions_skipped: dict[str, int] = field(default_factory=dict)
    kept_km: float = 0.0

    def lines(self, mode: str = "car") -> list[str]:
        skipped = ", ".join(f"{k}: {v}" for k, v in sorted(self.restrictions_skipped.items())) or "none"
        usable = "drivable" if mode == "car" else f"usable by {mode}"
        closed = "closed to motor vehicles" if mode == "car" else f"closed to {mode}"
        return [
            f"source: {self.source}",
            f"ways read: {self.ways_read}, {usable}: {self.drivable_ways}",
            f"kept (largest strongly connected component): {self.nodes} nodes, {self.edges} directed edges, "
            f"{self.pieces} road pieces, {self.kept_km:.1f} km of road",
            f"dropped: {self.dropped_components} smaller components with {self.dropped_nodes} nodes, "
            f"{self.dropped_edges} directed edges, {self.dropped_km:.2f} km",
            f"dropped ways: {self.reversible_ways_dropped} reversible (oneway=reversible/alternating), "
            f"{self.access_denied_ways} {closed}",
            f"turn restrictions applied: {self.restrictions_applied}; skipped: {skipped}",
        ]


def parse_lonlat(text: str) -> tuple[float, float]:
    """Parse ``"LON,LAT"`` into floats; raise :class:`InvalidCoordinate` on anything else."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise InvalidCoordinate(f"expected LON,LAT, got {text!r}")
    try:
        lon, lat = float(parts[0]), float(parts[1])
    except ValueError:
        raise InvalidCoordinate(f"expected two numbers LON,LAT, got {text!r}")
    check_lonlat(lon, lat)
    return lon, lat


def check_lonlat(lon: float, lat: float) -> None:
    """Raise :class:`InvalidCoordinate` unless lon/lat are finite and in range."""
    if lon != lon or lat != lat or lon in (float("inf"), float("-inf")) or lat in (float("inf"), float("-inf")):
        raise InvalidCoordinate(f"coordinate is not a finite number: lon={lon}, lat={lat}")
    if not (-180.0 <= lon <= 180.0):
        raise InvalidCoordinate(f"longitude {lon} is outside [-180, 180]")
    if not (-90.0 <= lat <= 90.0):
        hint = " (did you swap longitude and latitude?)" if -90.0 <= lon <= 90.0 else ""
        raise InvalidCoordinate(f"latitude {lat} is outside [-90, 90]{hint}")
