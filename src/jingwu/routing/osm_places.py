"""Police and fire stations in an OpenStreetMap file, and the filter that tells a precinct station
(派出所) from other ``amenity=police`` offices.

:func:`extract` reads every ``amenity=police`` and ``amenity=fire_station``
node or way (a way by its centroid) with pyosmium, with the tags the naming
rule (``jingwu.platform.naming``) and the precinct filter
(:func:`non_precinct_reason`) read, and the names of the nearest named street
(used to name an object that has none). ``jingwu setup`` (``stations: osm``)
and the demo city's station list (``jingwu.demo.osm_stations``) use it;
docs/methods/demo-city.md explains the filter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import osmium
from shapely import LineString, Point, Polygon, get_parts, make_valid, polygonize, unary_union
from shapely.affinity import scale

from jingwu.platform.naming import Kind, Names, en_name, osm_names, zh_name

AMENITIES = ("police", "fire_station")
NAME_TAGS = ("name", "name:zh", "name:zh-Hans", "name:en")
TAGS = (*NAME_TAGS, "police")  # police=*: the OSM subtype of a police facility (checkpoint, offices, …)
COLUMNS = ["osm_type", "osm_id", "amenity", *TAGS, "near_street", "near_street:en", "lon_wgs84", "lat_wgs84"]
# Streets an object is named after when it has no name: named roads that have a street address.
STREET_CLASSES = {"motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
                  "living_street", "pedestrian", "motorway_link", "trunk_link", "primary_link",
                  "secondary_link", "tertiary_link"}

KINDS = {"police": Kind("派出所", "Police station"), "fire_station": Kind("消防站", "Fire station")}

# amenity=police objects that are not precinct stations (派出所), by words of their names (zh or en).
# Each group is justified in docs/methods/demo-city.md; the first group that matches gives the reason.
NON_PRECINCT: list[tuple[tuple[str, ...], str]] = [
    (("出入境", "签证", "visa", "immigration", "exit-entry", "entry-exit"),
     "exit-entry and visa office (出入境/签证), not a precinct station"),
    (("办证", "户籍", "户政", "身份证", "id card"),
     "document, ID-card or household-registration office (办证/户政/身份证), not a precinct station"),
    (("交警", "交通警察", "车管", "traffic police"),
     "traffic police or vehicle administration office (交警/车管), not a precinct station"),
    (("保卫", "campus security"),
     "in-house security office of a campus or company (保卫处/保卫科), not a police station"),
    (("警务室", "警务站", "岗亭"),
     "community police office or kiosk (警务室/警务站), an outpost of a station, not a station"),
]
PRECINCT_POLICE_VALUES = {"", "yes", "station"}


def non_precinct_reason(tags: Mapping[str, str]) -> str | None:
    """Why an ``amenity=police`` object is not a precinct station, or None when it is one (or may be one).

    An object without any name is kept: nothing says it is not a station.
    """
    subtype = (tags.get("police") or "").strip()
    if subtype not in PRECINCT_POLICE_VALUES:
        return f"police={subtype}: a specialised police facility, not a precinct station"
    text = " ".join((tags.get(k) or "") for k in NAME_TAGS).lower()
    for words, reason in NON_PRECINCT:
        if any(w in text for w in words):
            return reason
    return None


@dataclass(frozen=True)
class OsmStation:
    osm_type: str
    osm_id: str
    amenity: str
    tags: dict[str, str]  # the TAGS this object has (non-empty values only)
    near_street: dict[str, str]  # name / name:en of the nearest named street, as tags
    lon: float
    lat: float

    @property
    def source(self) -> str:
        return f"osm:{self.osm_type}/{self.osm_id}"

    @property
    def names(self) -> Names:
        return osm_names(self.tags, KINDS[self.amenity], self.near_street)

    def non_precinct_reason(self) -> str | None:
        return non_precinct_reason(self.tags) if self.amenity == "police" else None


def extract(osm_path: Path) -> list[dict[str, str]]:
    """The CSV rows (``COLUMNS``) for the police and fire stations of an OSM file."""
    found: list[tuple[str, int, dict[str, str], float, float]] = []
    streets: list[tuple[dict[str, str], LineString]] = []

    class Handler(osmium.SimpleHandler):
        def node(self, n: osmium.osm.Node) -> None:
            tags = dict(n.tags)
            if tags.get("amenity") in AMENITIES:
                found.append(("node", n.id, tags, n.location.lon, n.location.lat))

        def way(self, w: osmium.osm.Way) -> None:
            tags = dict(w.tags)
            pts = [(nd.lon, nd.lat) for nd in w.nodes if nd.location.valid()]
            if tags.get("amenity") in AMENITIES and pts:
                closed = len(pts) >= 4 and pts[0] == pts[-1]
                c = (Polygon(pts) if closed else LineString(pts) if len(pts) > 1 else Point(pts[0])).centroid
                found.append(("way", w.id, tags, c.x, c.y))
            if tags.get("highway") in STREET_CLASSES and zh_name(tags) and len(pts) >= 2:
                streets.append(({k: tags[k] for k in NAME_TAGS if k in tags}, LineString(pts)))

    Handler().apply_file(str(osm_path), locations=True)
    rows = []
    for osm_type, osm_id, tags, lon, lat in sorted(found, key=lambda f: (f[0] != "node", f[1])):
        kx = math.cos(math.radians(lat))  # distances in a local equirectangular frame
        p = Point(lon * kx, lat)
        near = min(streets, key=lambda s: scale(s[1], kx, 1.0, origin=(0, 0)).distance(p))[0] if streets else {}
        row = {"osm_type": osm_type, "osm_id": str(osm_id), "amenity": tags["amenity"],
               **{k: tags.get(k, "") for k in TAGS},
               "near_street": zh_name(near) or "", "near_street:en": en_name(near) or "",
               "lon_wgs84": f"{lon:.7f}", "lat_wgs84": f"{lat:.7f}"}
        rows.append(row)
    return rows


def stations_from_rows(rows: list[dict[str, str]]) -> list[OsmStation]:
    """:class:`OsmStation` objects from rows with the :data:`COLUMNS` (as :func:`extract` returns them)."""
    out = []
    for r in rows:
        tags = {k: r[k].strip() for k in TAGS if (r.get(k) or "").strip()}
        near = {k: v.strip() for k, v in (("name", r.get("near_street")), ("name:en", r.get("near_street:en")))
                if v and v.strip()}
        out.append(OsmStation(r["osm_type"], r["osm_id"], r["amenity"], tags, near, float(r["lon_wgs84"]),
                              float(r["lat_wgs84"])))
    return out


def precinct_stations(stations: list[OsmStation]) -> tuple[list[OsmStation], list[tuple[OsmStation, str]]]:
    """The police objects that become stations, and those left out with the reason."""
    kept: list[OsmStation] = []
    left_out: list[tuple[OsmStation, str]] = []
    for s in stations:
        if s.amenity != "police":
            continue
        reason = s.non_precinct_reason()
        if reason is None:
            kept.append(s)
        else:
            left_out.append((s, reason))
    return kept, left_out


@dataclass(frozen=True)
class Boundary:
    """A ``boundary=administrative`` relation assembled into a polygon (``geometry`` None when it cannot be:
    ``problem`` says why, e.g. member ways missing from a cut extract)."""

    relation_id: int
    tags: dict[str, str]
    geometry: Any | None  # shapely Polygon / MultiPolygon
    problem: str | None


def _faces(lines: list[LineString]) -> Any:
    """The union of the faces the lines enclose (the lines noded first, so rings split across ways close)."""
    return unary_union(list(get_parts(polygonize(get_parts(unary_union(lines))))))


def admin_boundaries(osm_path: Path, admin_level: int) -> list[Boundary]:
    """The ``boundary=administrative`` relations of ``admin_level``, their outer and inner member ways joined
    into rings (shapely ``polygonize``); a relation whose rings do not close is returned with its problem.

    Assembled here rather than with osmium's area handler, which refuses files whose ids are not sorted
    (common in extracts edited by other tools)."""
    rels: list[tuple[int, dict[str, str], list[tuple[int, str]]]] = []
    for obj in osmium.FileProcessor(str(osm_path), osmium.osm.RELATION):
        if not isinstance(obj, osmium.osm.Relation):
            continue
        tags = dict(obj.tags)
        if tags.get("boundary") == "administrative" and tags.get("admin_level", "").strip() == str(admin_level):
            rels.append((obj.id, tags, [(m.ref, m.role) for m in obj.members if m.type == "w"]))
    wanted = {ref for _, _, members in rels for ref, _ in members}
    lines: dict[int, list[tuple[float, float]]] = {}
    if wanted:
        for obj in osmium.FileProcessor(str(osm_path), osmium.osm.NODE | osmium.osm.WAY).with_locations():
            if isinstance(obj, osmium.osm.Way) and obj.id in wanted:
                pts = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
                if len(pts) == len(obj.nodes) and len(pts) >= 2:
                    lines[obj.id] = pts
    out = []
    for rid, tags, members in sorted(rels):
        missing = [ref for ref, _ in members if ref not in lines]
        if not members:
            out.append(Boundary(rid, tags, None, "the relation has no member ways"))
            continue
        if missing:
            out.append(Boundary(rid, tags, None, f"{len(missing)} of its {len(members)} member ways are missing or "
                                                 "incomplete in this extract (cut it with osmium extract "
                                                 "--strategy smart, or give the towns as GeoJSON)"))
            continue
        outer = [LineString(lines[ref]) for ref, role in members if role != "inner"]
        inner = [LineString(lines[ref]) for ref, role in members if role == "inner"]
        shell = _faces(outer)
        if shell.is_empty:
            out.append(Boundary(rid, tags, None, "its outer ways do not close into a ring"))
            continue
        if inner:
            holes = _faces(inner)
            shell = shell.difference(holes)
        # polygonize returns every face, including islands inside holes; the union of outer faces is the area
        out.append(Boundary(rid, tags, make_valid(shell), None))
    return out
