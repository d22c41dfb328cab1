"""The map layer: the road network as GeoJSON for the web map.

Consecutive pieces of one OSM way are merged back into one LineString (the
graph cut them at every intersection), with coordinates rounded to 6
decimals. RoadGraph.roads_geojson delegates here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from jingwu.routing.osm_import import HIGHWAY_CLASSES

if TYPE_CHECKING:
    from jingwu.routing.graph import RoadGraph


def roads_geojson(g: RoadGraph) -> dict[str, Any]:
    features: list[dict[str, Any]] = []
    way = g.a["piece_way"]
    pdir = g.a["piece_dir"]
    hw = g.a["piece_highway"]
    nm = g.a["piece_name"]
    lon = np.round(g.shape_lon, 6)
    lat = np.round(g.shape_lat, 6)
    p = 0
    n = g.n_pieces
    while p < n:
        q = p
        while q + 1 < n and way[q + 1] == way[p] and g.piece_v[q] == g.piece_u[q + 1] and pdir[q + 1] == pdir[p]:
            q += 1
        s0, s1 = int(g.shape_ptr[p]), int(g.shape_ptr[q + 1])
        keep = np.ones(s1 - s0, dtype=bool)
        # drop the duplicated joint points between merged pieces
        joints = g.shape_ptr[p + 1 : q + 1] - s0
        keep[joints] = False
        xs = lon[s0:s1][keep]
        ys = lat[s0:s1][keep]
        coords = np.column_stack([xs, ys])
        direction = int(pdir[p])
        if direction == 2:
            coords = coords[::-1]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": coords.tolist()},
                "properties": {
                    "highway": HIGHWAY_CLASSES[int(hw[p])],
                    "name": g._names[int(nm[p])],
                    "oneway": direction != 3,
                },
            }
        )
        p = q + 1
    return {"type": "FeatureCollection", "features": features}

