"""Names read straight from an OSM file with osmium, independently of the product's import:
what the map labels must show. Also a stand-in of the label endpoint's contract built from them
(bbox and zoom filters as the contract says), used to test the drawing on its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# the scales of the endpoint's contract: rank 1 (most important) and up; a street of rank <= 3 is primary or above
STREET_RANK = {"motorway": 1, "trunk": 2, "primary": 3, "secondary": 4, "tertiary": 5}
PLACE_RANK = {"city": 1, "town": 2, "district": 3, "suburb": 3, "quarter": 4, "village": 4, "neighbourhood": 5}
POI_KEYS = ("amenity", "shop", "tourism", "leisure", "office", "healthcare", "historic")


@dataclass
class OsmNames:
    # (name, name:zh or None, name:en or None, rank, [(lon, lat), ...])
    streets: list[tuple[str, str | None, str | None, int, list[tuple[float, float]]]] = field(default_factory=list)
    # (kind, name, name:zh, name:en, rank, lon, lat)
    points: list[tuple[str, str, str | None, str | None, int, float, float]] = field(default_factory=list)
    # highway classes of the ways carrying each street name (name or name:zh)
    classes: dict[str, set[str]] = field(default_factory=dict)
    # name and name:zh of every named object (node, way, relation), name:en of every object that has one
    all_names: set[str] = field(default_factory=set)
    all_english: set[str] = field(default_factory=set)
    # name, name:zh and name:en of every object tagged place=*
    place_names: set[str] = field(default_factory=set)

    def street_names(self) -> set[str]:
        return {s[0] for s in self.streets} | {s[1] for s in self.streets if s[1]}

    def street_english(self) -> dict[str, str]:
        """Local name -> name:en, for the streets that have one."""
        return {s[0]: s[2] for s in self.streets if s[2]}

    def streets_of_class(self, *highways: str) -> set[str]:
        """Street names carried by at least one way of these highway classes."""
        return {name for name, cls in self.classes.items() if cls & set(highways)}

    def names_of(self, kind: str) -> set[str]:
        """Local names and name:zh of the places or POIs."""
        return {p[1] for p in self.points if p[0] == kind} | {p[2] for p in self.points if p[0] == kind and p[2]}


def read_osm_names(path: Path) -> OsmNames:
    import osmium

    out = OsmNames()

    def remember(t: Any) -> None:
        for k in ("name", "name:zh"):
            if k in t:
                out.all_names.add(t[k])
        if "name:en" in t:
            out.all_english.add(t["name:en"])
        if "place" in t:
            out.place_names.update(t[k] for k in ("name", "name:zh", "name:en") if k in t)

    class Handler(osmium.SimpleHandler):  # type: ignore[misc]
        def relation(self, r: Any) -> None:
            remember(r.tags)

        def way(self, w: Any) -> None:
            t = w.tags
            remember(t)
            if "highway" not in t or "name" not in t:
                return
            try:
                coords = [(n.lon, n.lat) for n in w.nodes]
            except osmium.InvalidLocationError:
                return
            rank = STREET_RANK.get(t["highway"], 6)
            for k in ("name", "name:zh"):
                if k in t:
                    out.classes.setdefault(t[k], set()).add(t["highway"])
            out.streets.append((t["name"], t.get("name:zh"), t.get("name:en"), rank, coords))

        def node(self, n: Any) -> None:
            t = n.tags
            remember(t)
            if "name" not in t:
                return
            if "place" in t:
                kind, rank = "place", PLACE_RANK.get(t["place"], 6)
            elif any(k in t for k in POI_KEYS):
                kind, rank = "poi", 3
            else:
                return
            loc = n.location
            out.points.append((kind, t["name"], t.get("name:zh"), t.get("name:en"), rank, loc.lon, loc.lat))

    Handler().apply_file(str(path), locations=True)
    return out


def min_zoom(kind: str, rank: int) -> int:
    if kind == "poi":
        return 16
    if kind == "place":
        return {1: 10, 2: 10, 3: 11, 4: 13, 5: 14}.get(rank, 15)
    return {1: 10, 2: 10, 3: 12, 4: 13, 5: 14}.get(rank, 15)


def fake_labels(names: OsmNames, bbox: tuple[float, float, float, float], zoom: int, public: bool) -> dict[str, Any]:
    """The contract of GET /api/v1[/public]/map/labels over the names above."""
    w, s, e, n = bbox
    feats: list[dict[str, Any]] = []

    def props(kind: str, name: str, zh: str | None, en: str | None, rank: int) -> dict[str, Any]:
        return {"kind": kind, "name": name, "name_zh": zh, "name_en": en, "rank": rank,
                "min_zoom": min_zoom(kind, rank)}

    for name, zh, en, rank, coords in names.streets:
        if min_zoom("street", rank) > zoom or (public and rank > 3):
            continue
        if not any(w <= x <= e and s <= y <= n for x, y in coords):
            continue
        feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [list(c) for c in coords]},
                      "properties": props("street", name, zh, en, rank)})
    for kind, name, zh, en, rank, x, y in names.points:
        if min_zoom(kind, rank) > zoom or (public and kind == "poi") or not (w <= x <= e and s <= y <= n):
            continue
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
                      "properties": props(kind, name, zh, en, rank)})
    return {"type": "FeatureCollection", "features": feats}
