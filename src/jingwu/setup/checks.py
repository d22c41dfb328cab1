"""Checks of what setup read against itself and against the road network: duplicate codes, the agency
tree, coordinates in the wrong order, the wrong datum (GCJ-02 given as WGS84), overlapping towns and
stations outside every town. docs/methods/coordinates.md gives the rules and their thresholds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from shapely import STRtree
from shapely.geometry import Point, shape

from jingwu.platform.domain import AGENCY_PARENT, AgencyKind
from jingwu.routing.domain import RoutingError
from jingwu.routing.gcj02 import gcj02_to_wgs84, out_of_china
from jingwu.routing.graph import RoadGraph
from jingwu.routing.jurisdictions import km2
from jingwu.setup.records import AgencyRec, Rejection, TownRec

# A point may lie this far outside the road network's bounding box (degrees, ≈ 2 km) and still count as in it.
BBOX_MARGIN_DEG = 0.02
# GCJ-02 detection (docs/methods/coordinates.md): at least DATUM_MIN_POINTS points; converting them from
# GCJ-02 to WGS84 brings at least DATUM_MIN_SHARE of them closer to the nearest road, by a median of at
# least DATUM_MIN_GAIN_M metres.
DATUM_MIN_POINTS = 3
DATUM_MIN_SHARE = 0.75
DATUM_MIN_GAIN_M = 10.0
DATUM_SNAP_LIMIT_M = 3000.0
# Towns may overlap by slivers from digitising: at most this many m², or this share of the smaller town.
OVERLAP_TOLERANCE_M2 = 1000.0
OVERLAP_TOLERANCE_SHARE = 0.001


@dataclass(frozen=True)
class Located:
    where: str
    lon: float
    lat: float


def duplicates(keys: Iterable[tuple[str, str]], what: str) -> list[Rejection]:
    """A code given twice: the second (and later) occurrence is rejected, naming the first."""
    first: dict[str, str] = {}
    out = []
    for key, where in keys:
        if key in first:
            out.append(Rejection(where, "duplicate_code", f"{what} {key} is given twice (first at {first[key]})"))
        else:
            first[key] = where
    return out


def _in_box(lon: float, lat: float, bbox: tuple[float, float, float, float]) -> bool:
    w, s, e, n = bbox
    m = BBOX_MARGIN_DEG
    return w - m <= lon <= e + m and s - m <= lat <= n + m


def positions(points: Sequence[Located], bbox: tuple[float, float, float, float]) -> list[Rejection]:
    """Each point must lie in the road network's box; one that does only with its numbers swapped was
    given as (lat, lon)."""
    out = []
    w, s, e, n = bbox
    box_text = f"lon {w:.4f}…{e:.4f}, lat {s:.4f}…{n:.4f}"
    for p in points:
        if _in_box(p.lon, p.lat, bbox):
            continue
        if _in_box(p.lat, p.lon, bbox):
            out.append(Rejection(p.where, "swapped_coordinates",
                                 f"lon {p.lon}, lat {p.lat} lies outside the road network ({box_text}) but "
                                 f"lon {p.lat}, lat {p.lon} lies inside: the coordinates look swapped "
                                 "(given as lat, lon)"))
        else:
            out.append(Rejection(p.where, "outside_network",
                                 f"lon {p.lon}, lat {p.lat} lies outside the road network ({box_text})"))
    return out


def _road_distances(graph: RoadGraph, lon: np.ndarray, lat: np.ndarray) -> list[float]:
    out = []
    for x, y in zip(lon.tolist(), lat.tolist(), strict=True):
        try:
            out.append(graph.snap(x, y, DATUM_SNAP_LIMIT_M).distance_m)
        except RoutingError:
            out.append(DATUM_SNAP_LIMIT_M)
    return out


@dataclass(frozen=True)
class DatumVerdict:
    gcj02: bool
    median_given_m: float
    median_converted_m: float
    n: int
    share_closer: float  # share of the points that converting brings closer to a road


def datum_verdict(graph: RoadGraph, points: Sequence[Located]) -> DatumVerdict | None:
    """Whether a point set given as WGS84 is in fact GCJ-02: it sits systematically off the roads, and
    converting it from GCJ-02 to WGS84 brings it onto them. None when it cannot be told (too few points,
    or outside China, where GCJ-02 is not used)."""
    if len(points) < DATUM_MIN_POINTS:
        return None
    lon = np.array([p.lon for p in points])
    lat = np.array([p.lat for p in points])
    if bool(np.all(out_of_china(lon, lat))):
        return None
    w_lon, w_lat = gcj02_to_wgs84(lon, lat)
    given = np.array(_road_distances(graph, lon, lat))
    conv = np.array(_road_distances(graph, w_lon, w_lat))
    share = float(np.mean(conv < given))
    gain = float(np.median(given - conv))
    return DatumVerdict(share >= DATUM_MIN_SHARE and gain >= DATUM_MIN_GAIN_M, float(np.median(given)),
                        float(np.median(conv)), len(points), share)


def datum(graph: RoadGraph, points: Sequence[Located], what: str) -> list[Rejection]:
    v = datum_verdict(graph, points)
    if v is None or not v.gcj02:
        return []
    named = ", ".join(p.where for p in points[:5]) + (f" and {len(points) - 5} more" if len(points) > 5 else "")
    return [Rejection(what, "wrong_datum",
                      f"these {v.n} points ({named}) sit a median {v.median_given_m:.0f} m from the nearest road; "
                      f"converted from GCJ-02 to WGS84, {v.share_closer:.0%} of them come closer and they sit a "
                      f"median {v.median_converted_m:.0f} m from it. They look like "
                      "GCJ-02 coordinates (Chinese web maps) given as WGS84: convert them to WGS84 "
                      "(docs/methods/coordinates.md)")]


def agency_tree(records: Sequence[AgencyRec], existing: dict[str, tuple[str, str | None]]) -> list[Rejection]:
    """Parents exist (in the files or the database), kinds fit (``AGENCY_PARENT``), no cycle, one root when
    the database is empty, and no existing agency changes its parent or kind.

    ``existing``: code -> (kind, parent code) of the agencies in the database."""
    out = []
    kinds = {code: kind for code, (kind, _) in existing.items()}
    kinds.update({r.code: r.kind for r in records})
    for r in records:
        if r.code in existing:
            old_kind, old_parent = existing[r.code]
            if old_kind != r.kind:
                out.append(Rejection(r.where, "agency_kind_changed",
                                     f"agency {r.code} exists as a {old_kind}; setup does not change its kind "
                                     f"to {r.kind}"))
                continue
            if old_parent != r.parent:
                out.append(Rejection(r.where, "agency_moved",
                                     f"agency {r.code} exists under {old_parent or 'nothing'}; setup does not move "
                                     f"it under {r.parent or 'nothing'}"))
                continue
        if r.parent is not None and r.parent not in kinds:
            out.append(Rejection(r.where, "unknown_parent", f"parent agency {r.parent} is neither in the files nor "
                                                            "in the database"))
            continue
        parent_kind = AgencyKind(kinds[r.parent]) if r.parent is not None else None
        if parent_kind not in AGENCY_PARENT[AgencyKind(r.kind)]:
            out.append(Rejection(r.where, "invalid_agency_tree",
                                 f"a {r.kind} cannot sit under {parent_kind.value if parent_kind else 'nothing'}"))
    parent = {r.code: r.parent for r in records}
    for r in records:
        seen, at = set(), r.code
        while at in parent and parent[at] is not None:
            if at in seen:
                out.append(Rejection(r.where, "invalid_agency_tree", f"agency {r.code} is its own ancestor"))
                break
            seen.add(at)
            at = parent[at]  # type: ignore[assignment]
    if not existing and records and not any(r.parent is None for r in records):
        out.append(Rejection("agencies", "invalid_agency_tree", "no root agency (one with no parent)"))
    return out


def town_overlaps(towns: Sequence[TownRec]) -> list[Rejection]:
    geoms = [shape(t.geometry) for t in towns]
    if len(geoms) < 2:
        return []
    tree = STRtree(geoms)
    pairs = tree.query(geoms, predicate="intersects")
    out = []
    for i, j in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True):
        if i >= j:
            continue
        inter = geoms[i].intersection(geoms[j])
        if inter.is_empty:
            continue
        lat0 = inter.centroid.y
        m2 = km2(inter, lat0) * 1e6
        smaller = min(km2(geoms[i], lat0), km2(geoms[j], lat0)) * 1e6
        if m2 > max(OVERLAP_TOLERANCE_M2, OVERLAP_TOLERANCE_SHARE * smaller):
            a, b = towns[i], towns[j]
            out.append(Rejection(b.where, "overlapping_towns",
                                 f"town {b.code} ({b.name}) overlaps town {a.code} ({a.name}, {a.where}) by "
                                 f"{m2:,.0f} m²"))
    return out


def stations_in_towns(stations: Sequence[AgencyRec], towns: Sequence[TownRec]) -> list[Rejection]:
    geoms: list[Any] = [shape(t.geometry) for t in towns]
    if not geoms:
        return []
    tree = STRtree(geoms)
    out = []
    for s in stations:
        if s.lon is None or s.lat is None:
            continue
        hits = tree.query(Point(s.lon, s.lat).buffer(1e-5), predicate="intersects")
        if len(hits) == 0:
            out.append(Rejection(s.where, "station_outside_towns",
                                 f"station {s.code} ({s.name}) at lon {s.lon}, lat {s.lat} lies outside every town"))
    return out
