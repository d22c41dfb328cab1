"""OpenStreetMap import: read .osm / .osm.pbf with pyosmium into a :class:`PieceTable`.

Owns the tag semantics: which ways are drivable, one-way rules, the default
urban Chinese speed table, maxspeed parsing, and the collection of turn
restriction relations. It splits every drivable way at its *graph nodes*
(nodes shared with another drivable way, way end points, and restriction via
nodes); the stretch between two graph nodes is a *piece* that keeps the full
node geometry. Graph assembly (strongly connected component, CSR, turn
restriction expansion) lives in :mod:`jingwu.routing.build`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
import osmium
from tqdm import tqdm

from jingwu.routing.domain import NoDrivableRoads, OsmCorrupt, OsmEmpty

# Highway classes that a police car may drive on, with the default free-flow
# speed (km/h) used when a way carries no usable ``maxspeed``. Values follow
# the design speeds of China's urban road standard CJJ 37-2012 (expressway
# 60–100, arterial 40–60, sub-arterial 30–50, branch 20–40) taken at the
# lower/middle end for free-flowing city traffic; links are slower than their
# roads; service and living streets are walking-pace-plus.
SPEED_KMH: dict[str, float] = {
    "motorway": 80.0,
    "motorway_link": 40.0,
    "trunk": 60.0,
    "trunk_link": 35.0,
    "primary": 45.0,
    "primary_link": 30.0,
    "secondary": 35.0,
    "secondary_link": 25.0,
    "tertiary": 30.0,
    "tertiary_link": 20.0,
    "unclassified": 25.0,
    "residential": 20.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 20.0,
}
# Ways no car may use; only the non-car travel profiles (jingwu.routing.profiles) read them. Appended
# after the drivable classes so the car graph's highway codes are unchanged.
NON_MOTOR_CLASSES: tuple[str, ...] = ("footway", "pedestrian", "path", "steps", "cycleway", "track", "bridleway")
HIGHWAY_CLASSES: tuple[str, ...] = tuple(SPEED_KMH) + NON_MOTOR_CLASSES
HIGHWAY_CODE: dict[str, int] = {h: i for i, h in enumerate(HIGHWAY_CLASSES)}
MIN_SPEED_KMH = 5.0
MAX_SPEED_KMH = 120.0

_ONEWAY_FWD = {"yes", "true", "1"}
_ONEWAY_BWD = {"-1", "reverse"}
_ONEWAY_NONE = {"reversible", "alternating"}
_DENIED = {"no"}
_ALLOWED = {"yes", "designated", "permissive", "destination", "delivery", "emergency"}
_MAXSPEED_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$")

FWD = 1
BWD = 2
BOTH = FWD | BWD
# what a travel profile's rule says about a way it does not take as it is (counted in the import report)
DENIED = "denied"
REVERSIBLE = "reversible"


class WayRules(Protocol):
    """A travel profile's tag rules (:mod:`jingwu.routing.profiles`) as the reader needs them."""

    @property
    def noun(self) -> str:  # "cars", "pedestrians", ... in messages
        ...

    @property
    def turn_restrictions(self) -> bool:
        ...

    def classify(self, tags: dict[str, str]) -> tuple[int, float] | str | None:
        """(direction FWD/BWD/BOTH, speed km/h) for a usable way; DENIED / REVERSIBLE; None if not for it."""
        ...


def parse_maxspeed(value: str | None) -> float | None:
    """Parse an OSM ``maxspeed`` value into km/h; ``None`` if absent or not numeric (e.g. ``CN:urban``)."""
    if not value:
        return None
    first = value.split(";")[0]
    m = _MAXSPEED_RE.match(first)
    if not m:
        return None
    speed = float(m.group(1))
    unit = m.group(2)
    if unit == "mph":
        speed *= 1.609344
    elif unit == "knots":
        speed *= 1.852
    if speed <= 0:
        return None
    return min(max(speed, MIN_SPEED_KMH), MAX_SPEED_KMH)


def way_direction(tags: dict[str, str]) -> int:
    """Allowed travel directions of a drivable way relative to its node order: FWD, BWD, BOTH or 0."""
    oneway = tags.get("oneway", "").strip().lower()
    if oneway in _ONEWAY_NONE:
        return 0
    if oneway in _ONEWAY_FWD:
        return FWD
    if oneway in _ONEWAY_BWD:
        return BWD
    if oneway == "no":
        return BOTH
    highway = tags.get("highway", "")
    if tags.get("junction", "") in {"roundabout", "circular"} or highway in {"motorway", "motorway_link"}:
        return FWD
    return BOTH


def motor_access(tags: dict[str, str]) -> bool:
    """False when the way is closed to motor vehicles (emergency=yes overrides a closure)."""
    if tags.get("emergency", "") in _ALLOWED:
        return True
    for key in ("motorcar", "motor_vehicle", "vehicle", "access"):
        value = tags.get(key)
        if value is not None:
            return value not in _DENIED
    return True


@dataclass
class Restriction:
    """A via-node turn restriction: ``kind`` is ``no`` or ``only``; ``tag`` the original value."""

    tag: str
    from_way: int
    via_node: int
    to_way: int

    @property
    def kind(self) -> str:
        return "only" if self.tag.startswith("only_") else "no"


@dataclass
class PieceTable:
    """Undirected road pieces between graph nodes, ready for graph assembly.

    Graph nodes: ``node_lon``, ``node_lat``, ``node_osm`` (n,). Pieces (p,):
    ``piece_u``/``piece_v`` graph node indices at the first/last shape point,
    ``piece_dir`` (FWD/BWD/BOTH relative to the shape order), ``piece_speed``
    (km/h), ``piece_highway`` (index into HIGHWAY_CLASSES), ``piece_name``
    (index into ``names``), ``piece_way`` (OSM way id). Geometry: the shape of
    piece i is ``shape_lon/lat[shape_ptr[i]:shape_ptr[i+1]]`` (≥ 2 points,
    first/last equal to the graph nodes).
    """

    node_lon: npt.NDArray[np.float64]
    node_lat: npt.NDArray[np.float64]
    node_osm: npt.NDArray[np.int64]
    piece_u: npt.NDArray[np.int32]
    piece_v: npt.NDArray[np.int32]
    piece_dir: npt.NDArray[np.int8]
    piece_speed: npt.NDArray[np.float64]
    piece_highway: npt.NDArray[np.int8]
    piece_name: npt.NDArray[np.int32]
    piece_way: npt.NDArray[np.int64]
    shape_ptr: npt.NDArray[np.int64]
    shape_lon: npt.NDArray[np.float64]
    shape_lat: npt.NDArray[np.float64]
    names: list[str]
    restrictions: list[Restriction] = field(default_factory=list)
    ways_read: int = 0
    drivable_ways: int = 0
    reversible_ways_dropped: int = 0
    access_denied_ways: int = 0
    restrictions_skipped: dict[str, int] = field(default_factory=dict)
    source: str = ""


@dataclass
class _Way:
    osm_id: int
    refs: list[int]
    lons: list[float]
    lats: list[float]
    direction: int
    speed: float
    highway: int
    name: str


def _is_restriction(tags: dict[str, str]) -> str | None:
    if tags.get("type") not in {"restriction", "restriction:motorcar"}:
        return None
    value = tags.get("restriction") or tags.get("restriction:motorcar")
    if not value:
        return None
    except_ = tags.get("except", "")
    if any(v.strip() in {"motorcar", "motor_vehicle", "emergency"} for v in except_.split(";")):
        return None
    return value


def read_osm(path: Path, progress: bool = False, profile: WayRules | None = None) -> PieceTable:
    """Parse an OSM file into pieces. Raises OsmEmpty / OsmCorrupt / NoDrivableRoads.

    ``profile`` None reads the drivable network by the rules above (the car graph); a travel profile
    reads the ways it allows with its own directions and speeds, and turn restrictions only if it has them.
    """
    path = Path(path)
    if not path.exists() or not path.is_file():
        raise OsmCorrupt(f"OSM file not found: {path}")
    if path.stat().st_size == 0:
        raise OsmEmpty(f"OSM file is empty: {path}")
    ways: list[_Way] = []
    restrictions: list[Restriction] = []
    skipped: dict[str, int] = {}
    counts = {"objects": 0, "ways": 0, "reversible": 0, "denied": 0}
    bar = tqdm(desc="reading OSM", unit=" obj", disable=not progress, leave=False)
    try:
        fp = osmium.FileProcessor(str(path)).with_locations().with_filter(osmium.filter.KeyFilter("highway", "type"))
        n_seen = 0
        for obj in fp:
            n_seen += 1
            if n_seen % 5000 == 0:
                bar.update(5000)
            if isinstance(obj, osmium.osm.Way):
                counts["ways"] += 1
                _take_way(obj, ways, counts, profile)
            elif isinstance(obj, osmium.osm.Relation):
                if profile is not None and not profile.turn_restrictions:
                    continue
                tags = {t.k: t.v for t in obj.tags}
                value = _is_restriction(tags)
                if value is None:
                    continue
                _take_restriction(obj, value, restrictions, skipped)
        bar.update(n_seen % 5000)
        counts["objects"] = n_seen
    except RuntimeError as exc:
        raise OsmCorrupt(f"cannot parse OSM file {path.name}: {exc}")
    finally:
        bar.close()
    if counts["objects"] == 0 and not _has_any_object(path):
        raise OsmEmpty(f"OSM file holds no OSM objects: {path}")
    if not ways:
        what = "drivable roads" if profile is None else f"ways usable by {profile.noun}"
        noun = "cars" if profile is None else profile.noun
        raise NoDrivableRoads(
            f"no {what} in {path.name} ({counts['ways']} highway ways read, none usable by {noun})"
        )
    table = _split_ways(ways, restrictions)
    table.ways_read = counts["ways"]
    table.drivable_ways = len(ways)
    table.reversible_ways_dropped = counts["reversible"]
    table.access_denied_ways = counts["denied"]
    table.restrictions_skipped = skipped
    table.source = str(path)
    return table


def _has_any_object(path: Path) -> bool:
    try:
        for _ in osmium.FileProcessor(str(path)):
            return True
    except RuntimeError as exc:
        raise OsmCorrupt(f"cannot parse OSM file {path.name}: {exc}")
    return False


def _take_way(obj: osmium.osm.Way, ways: list[_Way], counts: dict[str, int], profile: WayRules | None) -> None:
    tags = {t.k: t.v for t in obj.tags}
    highway = tags.get("highway", "")
    if profile is not None:
        verdict = profile.classify(tags)
        if verdict is None:
            return
        if isinstance(verdict, str):
            counts["denied" if verdict == DENIED else "reversible"] += 1
            return
        direction, speed = verdict
    else:
        if highway not in SPEED_KMH or tags.get("area") == "yes":
            return
        if not motor_access(tags):
            counts["denied"] += 1
            return
        direction = way_direction(tags)
        if direction == 0:
            counts["reversible"] += 1
            return
        speed = parse_maxspeed(tags.get("maxspeed")) or SPEED_KMH[highway]
    name = tags.get("name", "")
    # Split at nodes without a location (cut by the extract boundary).
    run_refs: list[int] = []
    run_lons: list[float] = []
    run_lats: list[float] = []
    runs: list[tuple[list[int], list[float], list[float]]] = []
    for nd in obj.nodes:
        loc = nd.location
        if not loc.valid():
            if len(run_refs) >= 2:
                runs.append((run_refs, run_lons, run_lats))
            run_refs, run_lons, run_lats = [], [], []
            continue
        if run_refs and run_refs[-1] == nd.ref:
            continue  # repeated node
        run_refs.append(nd.ref)
        run_lons.append(loc.lon)
        run_lats.append(loc.lat)
    if len(run_refs) >= 2:
        runs.append((run_refs, run_lons, run_lats))
    for refs, lons, lats in runs:
        if direction == BWD:  # normalise oneway=-1 to the node order of travel
            refs, lons, lats = refs[::-1], lons[::-1], lats[::-1]
        ways.append(
            _Way(obj.id, refs, lons, lats, FWD if direction != BOTH else BOTH, speed, HIGHWAY_CODE[highway], name)
        )


def _take_restriction(obj: osmium.osm.Relation, value: str, out: list[Restriction], skipped: dict[str, int]) -> None:
    if not (value.startswith("no_") or value.startswith("only_")):
        skipped[f"unknown type {value}"] = skipped.get(f"unknown type {value}", 0) + 1
        return
    frm = [m.ref for m in obj.members if m.role == "from" and m.type == "w"]
    to = [m.ref for m in obj.members if m.role == "to" and m.type == "w"]
    via_n = [m.ref for m in obj.members if m.role == "via" and m.type == "n"]
    via_w = [m.ref for m in obj.members if m.role == "via" and m.type == "w"]
    if via_w:
        skipped["via way (unsupported)"] = skipped.get("via way (unsupported)", 0) + 1
        return
    if len(frm) != 1 or len(to) != 1 or len(via_n) != 1:
        skipped["malformed members"] = skipped.get("malformed members", 0) + 1
        return
    out.append(Restriction(value, frm[0], via_n[0], to[0]))


def _split_ways(ways: list[_Way], restrictions: Iterable[Restriction]) -> PieceTable:
    all_refs = np.fromiter((r for w in ways for r in w.refs), dtype=np.int64)
    uniq, counts = np.unique(all_refs, return_counts=True)
    graph_refs = set(uniq[counts >= 2].tolist())
    for w in ways:
        graph_refs.add(w.refs[0])
        graph_refs.add(w.refs[-1])
    for r in restrictions:
        graph_refs.add(r.via_node)
    node_index: dict[int, int] = {}
    node_lon: list[float] = []
    node_lat: list[float] = []
    node_osm: list[int] = []
    names: dict[str, int] = {"": 0}

    def gnode(ref: int, lon: float, lat: float) -> int:
        idx = node_index.get(ref)
        if idx is None:
            idx = len(node_osm)
            node_index[ref] = idx
            node_lon.append(lon)
            node_lat.append(lat)
            node_osm.append(ref)
        return idx

    pu: list[int] = []
    pv: list[int] = []
    pdir: list[int] = []
    pspeed: list[float] = []
    phw: list[int] = []
    pname: list[int] = []
    pway: list[int] = []
    sptr: list[int] = [0]
    slon: list[float] = []
    slat: list[float] = []
    for w in ways:
        name_idx = names.setdefault(w.name, len(names))
        start = 0
        n = len(w.refs)
        for i in range(1, n):
            if w.refs[i] in graph_refs or i == n - 1:
                pu.append(gnode(w.refs[start], w.lons[start], w.lats[start]))
                pv.append(gnode(w.refs[i], w.lons[i], w.lats[i]))
                pdir.append(w.direction)
                pspeed.append(w.speed)
                phw.append(w.highway)
                pname.append(name_idx)
                pway.append(w.osm_id)
                slon.extend(w.lons[start : i + 1])
                slat.extend(w.lats[start : i + 1])
                sptr.append(len(slon))
                start = i
    return PieceTable(
        node_lon=np.asarray(node_lon, dtype=np.float64),
        node_lat=np.asarray(node_lat, dtype=np.float64),
        node_osm=np.asarray(node_osm, dtype=np.int64),
        piece_u=np.asarray(pu, dtype=np.int32),
        piece_v=np.asarray(pv, dtype=np.int32),
        piece_dir=np.asarray(pdir, dtype=np.int8),
        piece_speed=np.asarray(pspeed, dtype=np.float64),
        piece_highway=np.asarray(phw, dtype=np.int8),
        piece_name=np.asarray(pname, dtype=np.int32),
        piece_way=np.asarray(pway, dtype=np.int64),
        shape_ptr=np.asarray(sptr, dtype=np.int64),
        shape_lon=np.asarray(slon, dtype=np.float64),
        shape_lat=np.asarray(slat, dtype=np.float64),
        names=list(names),
        restrictions=list(restrictions),
    )
