"""Routing: real road networks from OpenStreetMap, snapping, exact travel times, isochrones.

Pure computation, no database. Public entry points: :class:`RoadGraph`
(graph.py, whose methods delegate to cache, search, areas and maplayer),
the value objects and errors in domain.py, great-circle distance in
geodesy.py and the CLI verbs in cli.py.
"""

from jingwu.routing.domain import (
    ImportReport,
    InvalidArgument,
    InvalidCoordinate,
    Metric,
    NoDrivableRoads,
    OffNetwork,
    OsmCorrupt,
    OsmEmpty,
    Route,
    RoutingError,
    Snap,
    Unreachable,
)

__all__ = [
    "ImportReport",
    "InvalidArgument",
    "InvalidCoordinate",
    "Metric",
    "NoDrivableRoads",
    "OffNetwork",
    "OsmCorrupt",
    "OsmEmpty",
    "Route",
    "RoutingError",
    "Snap",
    "Unreachable",
]
