"""Building the gazetteer from an OSM file (``jingwu import osm`` and the server's first use).

What is read (pyosmium, node locations resolved; relations are not read):

- **streets**: named ``highway=*`` ways (roads, paths, pedestrian streets; not bus stops or platforms).
  Ways of one ``name`` that touch (share a node) are merged into one street (union-find over shared
  nodes); its highway class is the most important of its ways;
- **crossings**: a node shared by named highway ways of two different names is an intersection of the
  two streets;
- **places**: ``place=*`` nodes and closed ways with a name;
- **POIs**: named nodes and ways with ``amenity``, ``shop``, ``tourism``, ``leisure``, ``office``,
  ``healthcare``, ``historic``, ``craft``, ``building``, ``landuse``, ``natural``, ``aeroway``,
  ``railway=station``, ``public_transport=station`` (ways at the centroid of their nodes);
- **addresses**: nodes and ways with ``addr:housenumber`` and ``addr:street``.

Every name variant (``name``, ``name:zh*``, ``name:en``, other ``name:*``, ``alt_name``, ``old_name``,
``official_name``, ``short_name``, ``loc_name``, ``int_name``) becomes an alias with its normal form and,
for Chinese, its pinyin.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import sqlite3
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import osmium
from shapely.geometry import LineString, MultiLineString, mapping
from shapely.ops import linemerge
from tqdm import tqdm

from jingwu.routing.domain import OsmCorrupt, OsmEmpty
from jingwu.routing.gazetteer.store import FORMAT_VERSION, SCHEMA, gazetteer_path, is_valid
from jingwu.routing.gazetteer.text import normalise, pinyin_forms

# rank (smaller = more important) and the smallest zoom at which a street's label is drawn
STREET_RANK: dict[str, tuple[int, int]] = {
    "motorway": (1, 10), "trunk": (2, 10), "primary": (3, 12), "secondary": (4, 13), "tertiary": (5, 14),
    "motorway_link": (6, 15), "trunk_link": (6, 15), "primary_link": (6, 15), "secondary_link": (6, 16),
    "tertiary_link": (6, 16), "unclassified": (6, 15), "residential": (6, 15), "road": (6, 15),
    "living_street": (7, 16), "pedestrian": (7, 16), "service": (7, 16),
    "track": (8, 17), "footway": (8, 17), "cycleway": (8, 17), "path": (8, 17), "steps": (8, 17),
    "bridleway": (8, 17),
}
PLACE_RANK: dict[str, tuple[int, int]] = {
    "city": (1, 10), "town": (2, 10), "municipality": (2, 10), "borough": (3, 11), "suburb": (3, 11),
    "village": (4, 12), "quarter": (4, 13), "neighbourhood": (5, 14), "hamlet": (6, 15),
    "locality": (6, 15), "square": (6, 15), "city_block": (7, 16), "isolated_dwelling": (7, 16),
    "plot": (7, 16), "farm": (7, 16), "island": (5, 13), "islet": (6, 15),
}
_POI_KEYS = ("amenity", "shop", "tourism", "leisure", "office", "healthcare", "historic", "craft", "aeroway",
             "building", "landuse", "natural")
_MAJOR = {"amenity": {"police", "hospital", "townhall", "university", "college", "fire_station", "courthouse"},
          "railway": {"station"}, "public_transport": {"station"}, "aeroway": {"aerodrome", "terminal"},
          "tourism": {"attraction"}}
_NOTABLE = {"amenity": {"school", "kindergarten", "library", "bank", "clinic", "marketplace", "place_of_worship",
                        "bus_station", "community_centre", "theatre", "cinema", "post_office", "embassy"},
            "leisure": {"park", "stadium", "sports_centre"}, "tourism": {"hotel", "museum", "zoo", "theme_park"},
            "shop": {"mall", "supermarket", "department_store"}, "office": {"government"}}
POI_ZOOM = {1: 14, 2: 15, 3: 16, 4: 17}
_NAME_EXTRA = ("alt_name", "old_name", "official_name", "short_name", "loc_name", "int_name", "reg_name")


def poi_category(tags: dict[str, str]) -> tuple[str, int] | None:
    """(category ``key=value``, rank 1–4) of a named POI, or None when the object is not a POI."""
    for key, values in _MAJOR.items():
        if tags.get(key) in values:
            return f"{key}={tags[key]}", 1
    for key, values in _NOTABLE.items():
        if tags.get(key) in values:
            return f"{key}={tags[key]}", 2
    for key in _POI_KEYS[:9]:
        if key in tags and tags[key] != "no":
            return f"{key}={tags[key]}", 3
    for key in _POI_KEYS[9:]:
        if key in tags and tags[key] != "no":
            return f"{key}={tags[key]}", 4
    return None


def name_variants(tags: dict[str, str]) -> list[tuple[str, str | None]]:
    """Every (name, language) of an object, primary ``name`` first, without repeats."""
    out: list[tuple[str, str | None]] = []
    seen: set[str] = set()

    def add(value: str | None, lang: str | None) -> None:
        for part in (value or "").split(";"):
            part = part.strip()
            if part and part not in seen:
                seen.add(part)
                out.append((part, lang))

    add(tags.get("name"), None)
    for k in sorted(tags):
        if k.startswith("name:"):
            add(tags[k], k[5:])
    for k in _NAME_EXTRA:
        add(tags.get(k), None)
    return out


def _zh(tags: dict[str, str]) -> str | None:
    for k in ("name:zh", "name:zh-Hans", "name:zh-CN", "name:zh_pinyin"):
        if k != "name:zh_pinyin" and tags.get(k):
            return tags[k]
    name = tags.get("name", "")
    from jingwu.routing.gazetteer.text import has_cjk

    return name if name and has_cjk(name) else None


@dataclass
class _Feature:
    kind: str
    osm: str
    tags: dict[str, str]
    lon: float
    lat: float
    bbox: tuple[float, float, float, float]
    geom: dict[str, object]
    category: str | None
    rank: int
    min_zoom: int
    street: str | None = None
    housenumber: str | None = None
    length_m: float | None = None
    aliases: list[tuple[str, str | None]] = field(default_factory=list)


@dataclass
class _StreetWay:
    id: int
    name: str
    tags: dict[str, str]
    highway: str
    refs: list[int]
    coords: list[tuple[float, float]]


def _tags(obj: osmium.osm.OSMObject) -> dict[str, str]:
    return {t.k: t.v for t in obj.tags}


def _centroid(coords: list[tuple[float, float]]) -> tuple[float, float]:
    ring = coords[:-1] if len(coords) > 2 and coords[0] == coords[-1] else coords
    return sum(c[0] for c in ring) / len(ring), sum(c[1] for c in ring) / len(ring)


def _bbox(coords: Iterable[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs, ys = zip(*coords, strict=True)
    return min(xs), min(ys), max(xs), max(ys)


def _length_m(coords: list[tuple[float, float]]) -> float:
    total = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(coords):
        kx = math.cos(math.radians((y0 + y1) / 2)) * 111_320.0
        total += math.hypot((x1 - x0) * kx, (y1 - y0) * 110_574.0)
    return total


def _point_feature(kind: str, osm: str, tags: dict[str, str], lon: float, lat: float,
                   bbox: tuple[float, float, float, float] | None = None) -> _Feature | None:
    if kind == "place":
        rank, zoom = PLACE_RANK.get(tags.get("place", ""), (7, 16))
        category = f"place={tags.get('place')}"
    elif kind == "poi":
        cat = poi_category(tags)
        if cat is None:
            return None
        category, rank = cat
        zoom = POI_ZOOM[rank]
    else:  # address
        category, rank, zoom = None, 9, 18
    f = _Feature(kind, osm, tags, lon, lat, bbox or (lon, lat, lon, lat),
                 {"type": "Point", "coordinates": [lon, lat]}, category, rank, zoom)
    if kind == "address":
        f.street = tags["addr:street"]
        f.housenumber = tags["addr:housenumber"]
    else:
        f.aliases = name_variants(tags)
    return f


def _take_tagged(kind_tags: dict[str, str], osm: str, lon: float, lat: float,
                 bbox: tuple[float, float, float, float] | None, out: list[_Feature]) -> None:
    tags = kind_tags
    named = bool(tags.get("name") or tags.get("name:zh") or tags.get("name:en"))
    if named and "place" in tags:
        f = _point_feature("place", osm, tags, lon, lat, bbox)
        if f:
            out.append(f)
    elif named and tags.get("highway") not in ("bus_stop", "platform") and \
            tags.get("public_transport") not in ("platform", "stop_position"):
        f = _point_feature("poi", osm, tags, lon, lat, bbox)
        if f:
            out.append(f)
    if tags.get("addr:housenumber") and tags.get("addr:street"):
        f = _point_feature("address", osm, tags, lon, lat, bbox)
        if f:
            out.append(f)


Crossing = tuple[str, str, int, float, float]


def read_features(osm_path: Path, progress: bool = False) -> tuple[list[_Feature], list[Crossing]]:
    """Read an OSM file into gazetteer features and street crossings (a, b, node, lon, lat)."""
    osm_path = Path(osm_path)
    if not osm_path.is_file():
        raise OsmCorrupt(f"OSM file not found: {osm_path}")
    if osm_path.stat().st_size == 0:
        raise OsmEmpty(f"OSM file is empty: {osm_path}")
    features: list[_Feature] = []
    ways: list[_StreetWay] = []
    bar = tqdm(desc="reading names", unit=" obj", disable=not progress, leave=False)
    try:
        fp = osmium.FileProcessor(str(osm_path)).with_locations().with_filter(
            osmium.filter.KeyFilter("name", "name:zh", "name:en", "addr:housenumber"))
        for n, obj in enumerate(fp, 1):
            if n % 5000 == 0:
                bar.update(5000)
            if isinstance(obj, osmium.osm.Node):
                if obj.location.valid():
                    _take_tagged(_tags(obj), f"node/{obj.id}", obj.location.lon, obj.location.lat, None, features)
            elif isinstance(obj, osmium.osm.Way):
                tags = _tags(obj)
                refs: list[int] = []
                coords: list[tuple[float, float]] = []
                for nd in obj.nodes:
                    if nd.location.valid() and (not refs or refs[-1] != nd.ref):
                        refs.append(nd.ref)
                        coords.append((nd.location.lon, nd.location.lat))
                if not coords:
                    continue
                name = tags.get("name") or tags.get("name:zh") or tags.get("name:en")
                hw = tags.get("highway")
                if name and hw in STREET_RANK and tags.get("area") != "yes" and len(coords) >= 2:
                    ways.append(_StreetWay(obj.id, name, tags, hw, refs, coords))
                    continue
                lon, lat = _centroid(coords)
                _take_tagged(tags, f"way/{obj.id}", lon, lat, _bbox(coords), features)
    except RuntimeError as exc:
        raise OsmCorrupt(f"cannot parse OSM file {osm_path.name}: {exc}")
    finally:
        bar.close()
    streets, crossings = _streets(ways)
    return streets + features, crossings


def _streets(ways: list[_StreetWay]) -> tuple[list[_Feature], list[tuple[str, str, int, float, float]]]:
    by_name: dict[str, list[int]] = defaultdict(list)
    for i, w in enumerate(ways):
        by_name[w.name].append(i)
    out: list[_Feature] = []
    for name, members in by_name.items():
        parent = {i: i for i in members}

        def find(i: int, parent: dict[int, int] = parent) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        owner: dict[int, int] = {}
        for i in members:
            for ref in ways[i].refs:
                j = owner.setdefault(ref, i)
                if j != i:
                    parent[find(i)] = find(j)
        groups: dict[int, list[int]] = defaultdict(list)
        for i in members:
            groups[find(i)].append(i)
        for group in groups.values():
            group.sort(key=lambda i: ways[i].id)
            best = min(group, key=lambda i: STREET_RANK[ways[i].highway][0])
            rank, zoom = STREET_RANK[ways[best].highway]
            lines = [LineString(ways[i].coords) for i in group]
            merged = linemerge(MultiLineString(lines)) if len(lines) > 1 else lines[0]
            parts = list(merged.geoms) if isinstance(merged, MultiLineString) else [merged]
            longest = max(parts, key=lambda g: g.length)
            mid = longest.interpolate(0.5, normalized=True)
            all_coords = [c for i in group for c in ways[i].coords]
            tags = dict(ways[best].tags)
            aliases: list[tuple[str, str | None]] = []
            for i in [best, *group]:
                for variant in name_variants(ways[i].tags):
                    if variant not in aliases:
                        aliases.append(variant)
            geom = mapping(merged if len(parts) > 1 else parts[0])
            f = _Feature("street", f"way/{ways[best].id}", tags, mid.x, mid.y, _bbox(all_coords),
                         json.loads(json.dumps(geom)), f"highway={ways[best].highway}", rank, zoom,
                         length_m=sum(_length_m(ways[i].coords) for i in group), aliases=aliases)
            f.tags["name"] = name
            out.append(f)
    node_names: dict[int, set[str]] = defaultdict(set)
    node_loc: dict[int, tuple[float, float]] = {}
    for w in ways:
        for ref, c in zip(w.refs, w.coords, strict=True):
            node_names[ref].add(w.name)
            node_loc[ref] = c
    crossings: list[tuple[str, str, int, float, float]] = []
    for ref, names in node_names.items():
        if len(names) < 2:
            continue
        norms = sorted({normalise(n) for n in names})
        for i, a in enumerate(norms):
            for b in norms[i + 1:]:
                crossings.append((a, b, ref, *node_loc[ref]))
    return out, crossings


def write_gazetteer(features: list[_Feature], crossings: list[tuple[str, str, int, float, float]],
                    path: Path, source: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".sqlite", dir=path.parent)
    os.close(fd)
    try:
        conn = sqlite3.connect(tmp)
        try:
            conn.executescript(SCHEMA)
            if features:
                x0 = min(f.bbox[0] for f in features)
                y0 = min(f.bbox[1] for f in features)
                x1 = max(f.bbox[2] for f in features)
                y1 = max(f.bbox[3] for f in features)
            else:
                x0 = y0 = x1 = y1 = 0.0
            meta = {"format": str(FORMAT_VERSION), "source": Path(source).name,
                    "origin": json.dumps([(x0 + x1) / 2, (y0 + y1) / 2]), "bbox": json.dumps([x0, y0, x1, y1])}
            conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            alias_rows = []
            for fid, f in enumerate(features, 1):
                t = f.tags
                name = t.get("name") or t.get("name:zh") or t.get("name:en") or \
                    (f"{f.street} {f.housenumber}" if f.kind == "address" else "")
                conn.execute(
                    "INSERT INTO feature VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (fid, f.kind, f.osm, name, _zh(t), t.get("name:en"), f.category, f.rank, f.min_zoom,
                     f.lon, f.lat, *f.bbox, f.street, normalise(f.street) if f.street else None,
                     _housenumber(f.housenumber) if f.housenumber else None,
                     json.dumps(f.geom, separators=(",", ":")), f.length_m))
                conn.execute("INSERT INTO feature_rtree VALUES (?,?,?,?,?)",
                             (fid, f.bbox[0], f.bbox[2], f.bbox[1], f.bbox[3]))
                seen: set[str] = set()
                for text, lang in f.aliases:
                    norm = normalise(text)
                    if not norm or norm in seen:
                        continue
                    seen.add(norm)
                    py = pinyin_forms(text)
                    alias_rows.append((fid, text, lang, norm, py[0] if py else None, py[1] if py else None))
            conn.executemany("INSERT INTO alias(feature_id, text, lang, norm, pinyin, initials) VALUES (?,?,?,?,?,?)",
                             alias_rows)
            conn.execute("INSERT INTO alias_fts(rowid, norm, pinyin, initials) "
                         "SELECT id, norm, pinyin, initials FROM alias")
            conn.executemany("INSERT INTO crossing VALUES (?,?,?,?,?)", crossings)
            conn.commit()
        finally:
            conn.close()
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _housenumber(value: str) -> str:
    return normalise(value).removesuffix("号").removesuffix("號")


def build_gazetteer(osm_path: Path, cache_dir: Path, progress: bool = False) -> Path:
    """The gazetteer file of ``osm_path`` in ``cache_dir``: reused when present and valid, else built."""
    path = gazetteer_path(Path(osm_path), Path(cache_dir))
    if path.exists() and is_valid(path):
        return path
    features, crossings = read_features(Path(osm_path), progress=progress)
    write_gazetteer(features, crossings, path, Path(osm_path))
    prefix = path.name.split(".gaz.")[0]
    for old in path.parent.glob(f"{prefix}.gaz.v*.sqlite"):
        if old != path:
            with contextlib.suppress(OSError):
                old.unlink()
    return path
