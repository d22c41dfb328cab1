"""Police and fire stations of the demo city, taken from the packaged OSM file.

``python -m jingwu.demo.osm_stations`` regenerates
``data/chengdu/chengdu_central_osm_police_fire.csv`` from
``data/chengdu/chengdu_central_osm_2018.osm`` (pyosmium): every
``amenity=police`` and ``amenity=fire_station`` node or way (a way by its
centroid), with the tags the naming rule (``jingwu.platform.naming``) and
the precinct filter (``non_precinct_reason``) read, and the names of the
nearest named street (used to name an object that has none).

docs/methods/demo-city.md explains the filter and names each office it drops.
"""

from __future__ import annotations

import csv
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import osmium
from shapely import LineString, Point, Polygon
from shapely.affinity import scale

from jingwu.platform.naming import Kind, Names, en_name, osm_names, zh_name
from jingwu.platform.settings import PACKAGE_DIR

DATA_DIR = PACKAGE_DIR / "data" / "chengdu"
OSM_FILE = DATA_DIR / "chengdu_central_osm_2018.osm"
STATIONS_FILE = DATA_DIR / "chengdu_central_osm_police_fire.csv"

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


def read_stations(path: Path = STATIONS_FILE) -> list[OsmStation]:
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for r in rows:
        tags = {k: r[k].strip() for k in TAGS if (r.get(k) or "").strip()}
        near = {k: v.strip() for k, v in (("name", r.get("near_street")), ("name:en", r.get("near_street:en")))
                if v and v.strip()}
        out.append(OsmStation(r["osm_type"], r["osm_id"], r["amenity"], tags, near, float(r["lon_wgs84"]),
                              float(r["lat_wgs84"])))
    return out


def extract(osm_path: Path = OSM_FILE) -> list[dict[str, str]]:
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


def write_csv(rows: list[dict[str, str]], path: Path = STATIONS_FILE) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":  # pragma: no cover
    write_csv(extract(Path(sys.argv[1]) if len(sys.argv) > 1 else OSM_FILE))
