"""Facts read straight from an OSM file with osmium, independent of the gazetteer code: the tests and the
benchmark compare the geocoder's answers with these."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import osmium
from shapely.geometry import LineString, Point


@dataclass
class Facts:
    # name → list of way geometries (every highway way carrying that name; name:zh, name:en when no name)
    streets: dict[str, list[LineString]] = field(default_factory=lambda: defaultdict(list))
    street_class: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    street_tags: dict[str, dict[str, str]] = field(default_factory=dict)
    # name → points of place=* nodes
    places: dict[str, list[Point]] = field(default_factory=lambda: defaultdict(list))
    place_tags: dict[str, dict[str, str]] = field(default_factory=dict)
    # (name a, name b) with a < b → shared node points
    crossings: dict[tuple[str, str], list[Point]] = field(default_factory=lambda: defaultdict(list))
    # named amenity/shop nodes: name → points
    pois: dict[str, list[Point]] = field(default_factory=lambda: defaultdict(list))
    # (addr:street, addr:housenumber) → points (nodes only)
    addresses: dict[tuple[str, str], list[Point]] = field(default_factory=lambda: defaultdict(list))


def read_facts(path: Path) -> Facts:
    f = Facts()
    node_names: dict[int, set[str]] = defaultdict(set)
    node_pt: dict[int, Point] = {}
    for obj in osmium.FileProcessor(str(path)).with_locations():
        tags = {t.k: t.v for t in obj.tags}
        name = tags.get("name")
        if isinstance(obj, osmium.osm.Node):
            if not obj.location.valid():
                continue
            pt = Point(obj.location.lon, obj.location.lat)
            if name and "place" in tags:
                f.places[name].append(pt)
                f.place_tags[name] = tags
            elif name and ("amenity" in tags or "shop" in tags):
                f.pois[name].append(pt)
            if tags.get("addr:street") and tags.get("addr:housenumber"):
                f.addresses[(tags["addr:street"], tags["addr:housenumber"])].append(pt)
        elif isinstance(obj, osmium.osm.Way) and (name := name or tags.get("name:zh") or tags.get("name:en")) \
                and "highway" in tags and tags["highway"] not in (
                "bus_stop", "platform") and tags.get("area") != "yes":
            pts = [(n.location.lon, n.location.lat, n.ref) for n in obj.nodes if n.location.valid()]
            if len(pts) < 2:
                continue
            f.streets[name].append(LineString([(x, y) for x, y, _ in pts]))
            f.street_class[name].add(tags["highway"])
            f.street_tags.setdefault(name, tags)
            for x, y, ref in pts:
                node_names[ref].add(name)
                node_pt[ref] = Point(x, y)
    for ref, names in node_names.items():
        ns = sorted(names)
        for i, a in enumerate(ns):
            for b in ns[i + 1:]:
                f.crossings[(a, b)].append(node_pt[ref])
    return f


def metres(a: object, b: object) -> float:
    """Distance in metres between two shapely geometries in lon/lat (local equirectangular projection)."""
    import math

    import shapely

    lat0 = shapely.Point(shapely.centroid(a).coords[0]).y  # type: ignore[arg-type]
    kx, ky = math.cos(math.radians(lat0)) * 111_320.0, 110_574.0

    def proj(g: object) -> object:
        return shapely.transform(g, lambda xy: xy * [kx, ky])  # type: ignore[arg-type]

    return float(shapely.distance(proj(a), proj(b)))
