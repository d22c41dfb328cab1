"""Routing's place in the running app: the served road graph as a container slot (loaded once, lazily),
the graphs of every travel mode (``ROAD_GRAPHS``, each loaded on first use from the same OSM file)
and the map layer of its drivable roads at ``GET /api/v1/map/roads`` (drawn by the web map; no tile server).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from jingwu.platform.container import Container, Slot
from jingwu.platform.domain import Permission, Principal
from jingwu.platform.http import ERROR_RESPONSES, ContainerDep, requires
from jingwu.routing.graph import RoadGraph
from jingwu.routing.graphs import RoadGraphs
from jingwu.routing.settings import graph_cache_dir


def served_osm_file(c: Container) -> Path:
    """The served road network's OSM file (the one the loaded car graph came from): the one source of
    the graph of every travel mode."""
    c.get(ROAD_GRAPH)
    network = c.get(LOADED_NETWORK)["network"]
    return Path(network.path)


def _load_graph(c: Container) -> RoadGraph:
    """The recorded served network (``jingwu import osm``, ``jingwu setup``), else ``JINGWU_OSM_FILE``."""
    from jingwu.routing.network import load_served_graph

    graph, network = load_served_graph(c)
    c.get(LOADED_NETWORK)["network"] = network
    return graph


# What the loaded ROAD_GRAPH was built from ({"network": ServedNetwork}), for the switch check.
LOADED_NETWORK: Slot[dict[str, Any]] = Slot("routing.loaded_network", lambda c: {})
ROAD_GRAPH: Slot[RoadGraph] = Slot("routing.graph", _load_graph)  # the car graph
ROAD_GRAPHS: Slot[RoadGraphs] = Slot("routing.graphs", lambda c: RoadGraphs(
    lambda: served_osm_file(c), graph_cache_dir(c.settings), car=lambda: c.get(ROAD_GRAPH)))
ROADS_GEOJSON: Slot[bytes] = Slot("routing.roads_geojson", lambda c: json.dumps(
    c.get(ROAD_GRAPH).roads_geojson(), ensure_ascii=False, separators=(",", ":")).encode())

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


@router.get("/map/roads", tags=["map"])
def roads(p: Annotated[Principal, Depends(requires(Permission.READ_ORG))], c: ContainerDep) -> Response:
    """The served area's drivable roads as GeoJSON (drawn by the web map; no tile server)."""
    return Response(c.get(ROADS_GEOJSON), media_type="application/geo+json",
                    headers={"Cache-Control": "private, max-age=3600"})
