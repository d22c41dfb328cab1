"""Reading the manifest's files into records: agencies (CSV or inline), stations (CSV, GeoJSON or the OSM
file), towns (GeoJSON, OSM administrative boundaries; the nearest-station fallback is built later, from
the jurisdictions), units (CSV). Each bad row or feature becomes a :class:`Rejection` naming it; nothing
here touches the database or the road graph.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shapely.geometry import shape

from jingwu.platform.domain import AgencyKind, UnitKind
from jingwu.platform.naming import Kind, osm_names
from jingwu.routing.jurisdictions import km2
from jingwu.routing.osm_places import KINDS, admin_boundaries, extract, precinct_stations, stations_from_rows
from jingwu.setup.manifest import AgencyEntry, StationsFromOsm, TownsFromBoundaries
from jingwu.setup.records import TRAVEL_MODES, AgencyRec, Rejection, TownRec, UnitRec

AGENCY_COLUMNS = ("code", "name", "name_en", "kind", "parent")
AGENCY_OPTIONAL = ("lon", "lat")
STATION_COLUMNS = ("code", "name", "name_en", "lon", "lat", "branch")
UNIT_COLUMNS = ("call_sign", "kind", "station")
UNIT_OPTIONAL = ("lon", "lat", "travel_mode")
TOWN_PROPERTIES = ("code", "name", "name_en", "population", "agency", "population_note")
TOWN_KIND = Kind("镇街", "Town")


class Bad(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _csv_rows(path: Path, required: tuple[str, ...], optional: tuple[str, ...], rej: list[Rejection]
              ) -> list[tuple[str, dict[str, str]]]:
    """(where, row) for each data row; a missing or unknown column rejects the whole file."""
    name = path.name
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in required if c not in header]
            unknown = [c for c in header if c not in required + optional]
            if missing or unknown:
                parts = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + \
                        ([f"unknown column(s) {', '.join(unknown)}"] if unknown else [])
                rej.append(Rejection(f"{name} line 1", "bad_columns",
                                     "; ".join(parts) + f" (expected {', '.join(required + optional)})"))
                return []
            return [(f"{name} line {i + 2}", {(k or "").strip(): (v or "").strip() for k, v in r.items()})
                    for i, r in enumerate(reader)]
    except OSError as exc:
        rej.append(Rejection(name, "file_not_found", f"cannot read {path}: {exc.strerror}"))
        return []
    except (UnicodeDecodeError, csv.Error) as exc:
        rej.append(Rejection(name, "bad_file", f"not a UTF-8 CSV file: {exc}"))
        return []


def _text(row: dict[str, str], key: str) -> str:
    v = row.get(key) or ""
    if not v:
        raise Bad("missing_value", f"{key} is empty")
    return v


def _coord(row: dict[str, str], key: str, *, required: bool = True) -> float | None:
    v = row.get(key) or ""
    if not v:
        if required:
            raise Bad("missing_value", f"{key} is empty")
        return None
    try:
        x = float(v)
    except ValueError:
        raise Bad("invalid_coordinate", f"{key} {v!r} is not a number") from None
    limit = 180.0 if key == "lon" else 90.0
    if not math.isfinite(x) or abs(x) > limit:
        raise Bad("invalid_coordinate", f"{key} {v} is outside ±{limit:g}")
    return x


def _pair(row: dict[str, str], required: bool) -> tuple[float | None, float | None]:
    try:
        lat_v = float(row.get("lat") or "nan")
        lon_v = float(row.get("lon") or "nan")
    except ValueError:
        lat_v = lon_v = math.nan
    if abs(lat_v) > 90 and abs(lat_v) <= 180 and abs(lon_v) <= 90:
        raise Bad("swapped_coordinates", f"lat {row['lat']} is not a latitude (beyond ±90) but lon {row['lon']} "
                                         "could be one: the coordinates look swapped (given as lat, lon)")
    lon, lat = _coord(row, "lon", required=required), _coord(row, "lat", required=required)
    if (lon is None) != (lat is None):
        raise Bad("missing_value", "give both lon and lat, or neither")
    return lon, lat


def _rows(items: list[tuple[str, dict[str, str]]], make: Callable[[str, dict[str, str]], Any],
          rej: list[Rejection]) -> list[Any]:
    out = []
    for where, row in items:
        try:
            out.append(make(where, row))
        except Bad as exc:
            rej.append(Rejection(where, exc.code, exc.message, row.get("code") or row.get("call_sign") or None))
    return out


def _kind(v: str, *, allowed: tuple[str, ...]) -> str:
    if v not in allowed:
        raise Bad("unknown_kind", f"kind {v!r} is not one of {', '.join(allowed)}")
    return v


AGENCY_KINDS = tuple(k.value for k in AgencyKind)


def read_agencies(spec: str | list[AgencyEntry], base: Path, rej: list[Rejection]) -> list[AgencyRec]:
    def make(where: str, r: dict[str, str]) -> AgencyRec:
        kind = _kind(_text(r, "kind"), allowed=AGENCY_KINDS)
        lon, lat = _pair(r, required=kind in ("station", "fire_station"))
        return AgencyRec(_text(r, "code"), _text(r, "name"), r.get("name_en") or None, kind,
                         r.get("parent") or None, lon, lat, where)

    if isinstance(spec, str):
        return _rows(_csv_rows(base / spec, AGENCY_COLUMNS, AGENCY_OPTIONAL, rej), make, rej)
    items = [(f"manifest agencies[{i}]", {k: ("" if v is None else str(v)) for k, v in e.model_dump().items()})
             for i, e in enumerate(spec)]
    return _rows(items, make, rej)


def _station(where: str, code: str, name: str, name_en: str | None, branch: str, lon: float | None,
             lat: float | None) -> AgencyRec:
    return AgencyRec(code, name, name_en, "station", branch, lon, lat, where)


def _load_geojson(path: Path, rej: list[Rejection]) -> list[dict[str, Any]] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        rej.append(Rejection(path.name, "file_not_found", f"cannot read {path}: {exc.strerror}"))
        return None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        rej.append(Rejection(path.name, "bad_file", f"not a JSON file: {exc}"))
        return None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        rej.append(Rejection(path.name, "not_a_feature_collection", "expected a GeoJSON FeatureCollection"))
        return None
    return doc["features"]


def _feature_where(name: str, i: int, f: Any) -> str:
    props = f.get("properties") if isinstance(f, dict) else None
    code = props.get("code") if isinstance(props, dict) else None
    return f"{name} feature {i + 1}" + (f" (code {code})" if code else "")


def read_stations(spec: str | StationsFromOsm, base: Path, network: Path, default_parent: str | None,
                  rej: list[Rejection], notes: list[str]) -> list[AgencyRec]:
    if isinstance(spec, StationsFromOsm):
        return _osm_stations(network, spec.parent or default_parent, rej, notes)
    path = base / spec
    if path.suffix.lower() in (".geojson", ".json"):
        feats = _load_geojson(path, rej)
        out = []
        for i, f in enumerate(feats or []):
            where = _feature_where(path.name, i, f)
            try:
                geom = f.get("geometry") if isinstance(f, dict) else None
                if not isinstance(geom, dict) or geom.get("type") != "Point":
                    raise Bad("not_points", f"a station must be a Point, got {(geom or {}).get('type')}")
                c = geom.get("coordinates") or []
                props = {k: ("" if v is None else str(v)) for k, v in (f.get("properties") or {}).items()}
                props["lon"], props["lat"] = (str(c[0]), str(c[1])) if len(c) >= 2 else ("", "")
                unknown = sorted(set(props) - set(STATION_COLUMNS))
                if unknown:
                    raise Bad("bad_columns", f"unknown propert(ies) {', '.join(unknown)}")
                lon, lat = _pair(props, required=True)
                out.append(_station(where, _text(props, "code"), _text(props, "name"), props.get("name_en") or None,
                                    _text(props, "branch"), lon, lat))
            except Bad as exc:
                rej.append(Rejection(where, exc.code, exc.message))
        return out

    def make(where: str, r: dict[str, str]) -> AgencyRec:
        lon, lat = _pair(r, required=True)
        return _station(where, _text(r, "code"), _text(r, "name"), r.get("name_en") or None, _text(r, "branch"),
                        lon, lat)

    return _rows(_csv_rows(path, STATION_COLUMNS, (), rej), make, rej)


def _osm_stations(network: Path, parent: str | None, rej: list[Rejection], notes: list[str]) -> list[AgencyRec]:
    stations = [s for s in stations_from_rows(extract(network)) if s.amenity == "police"]
    kept, left_out = precinct_stations(stations)
    for s, reason in left_out:
        notes.append(f"{network.name} {s.source}: {s.names.zh} is not made a station: {reason}")
    if not kept:
        rej.append(Rejection(network.name, "no_stations",
                             "stations: osm, but the OSM file has no amenity=police precinct station; "
                             "give the stations as a CSV or GeoJSON file"))
        return []
    if parent is None:
        rej.append(Rejection("manifest stations", "missing_value",
                             "stations: osm needs the agency they sit under: {source: osm, parent: CODE}"))
        return []
    seen: dict[tuple[str, str], int] = {}
    out = []
    for s in kept:
        names = osm_names(s.tags, KINDS["police"], s.near_street)
        k = seen[(names.zh, names.en)] = seen.get((names.zh, names.en), 0) + 1
        zh, en = (names.zh, names.en) if k == 1 else (f"{names.zh}（{k}）", f"{names.en} ({k})")
        rec = _station(f"{network.name} {s.source}", f"OSM-{s.osm_type[0].upper()}{s.osm_id}", zh, en, parent,
                       s.lon, s.lat)
        rec.source = s.source
        out.append(rec)
    return out


def read_town_features(path: Path, rej: list[Rejection]) -> list[TownRec]:
    feats = _load_geojson(path, rej)
    out = []
    for i, f in enumerate(feats or []):
        where = _feature_where(path.name, i, f)
        try:
            if not isinstance(f, dict) or f.get("type") != "Feature":
                raise Bad("not_a_feature", "expected a GeoJSON Feature")
            geom = f.get("geometry")
            gtype = geom.get("type") if isinstance(geom, dict) else None
            if gtype not in ("Polygon", "MultiPolygon"):
                raise Bad("not_polygons", f"a town boundary must be a Polygon or MultiPolygon, got {gtype}")
            props = f.get("properties") or {}
            unknown = sorted(set(props) - set(TOWN_PROPERTIES))
            if unknown:
                raise Bad("bad_columns", f"unknown propert(ies) {', '.join(unknown)} "
                                         f"(expected {', '.join(TOWN_PROPERTIES)})")
            p = {k: ("" if v is None else str(v)) for k, v in props.items()}
            try:
                population = int(float(_text(p, "population")))
            except ValueError:
                raise Bad("invalid_population", f"population {p['population']!r} is not a number") from None
            if population < 1:
                raise Bad("invalid_population", f"population must be at least 1 (got {population}): the Safety "
                                                "Index rates incidents per 10,000 residents")
            try:
                g = shape(geom)
            except Exception as exc:  # shapely raises several kinds for malformed coordinates
                raise Bad("invalid_polygon", f"malformed coordinates: {exc}") from None
            if g.is_empty or not g.is_valid:
                from shapely.validation import explain_validity

                raise Bad("invalid_polygon", f"invalid polygon: {explain_validity(g)}")
            out.append(TownRec(_text(p, "code"), _text(p, "name"), p.get("name_en") or None, _text(p, "agency"),
                               population, p.get("population_note") or None,
                               round(km2(g, g.centroid.y), 3), geom, where))
        except Bad as exc:
            rej.append(Rejection(where, exc.code, exc.message))
    return out


def read_osm_towns(spec: TownsFromBoundaries, base: Path, network: Path, default_agency: str | None,
                   rej: list[Rejection]) -> list[TownRec]:
    pops: dict[str, int] = {}
    if spec.population_csv:
        for where, r in _csv_rows(base / spec.population_csv, ("name", "population"), (), rej):
            try:
                pops[_text(r, "name")] = int(float(_text(r, "population")))
            except ValueError:
                rej.append(Rejection(where, "invalid_population", f"population {r['population']!r} is not a number"))
            except Bad as exc:
                rej.append(Rejection(where, exc.code, exc.message))
    agency = spec.agency or default_agency
    bounds = admin_boundaries(network, spec.admin_level)
    if not bounds:
        rej.append(Rejection(network.name, "no_boundaries",
                             f"no boundary=administrative relation with admin_level={spec.admin_level} in the file"))
    out = []
    for b in bounds:
        names = osm_names(b.tags, TOWN_KIND)
        where = f"{network.name} relation/{b.relation_id} ({names.zh})"
        if b.geometry is None:
            rej.append(Rejection(where, "incomplete_boundary", b.problem or "cannot be assembled"))
            continue
        raw = (b.tags.get("population") or "").replace(",", "").strip()
        population = pops.get(names.zh, pops.get(b.tags.get("name", "")))
        note = "population from the population CSV" if population is not None else None
        if population is None and raw.isdigit():
            population, note = int(raw), "population from the OSM population tag"
        if population is not None and population < 1:
            rej.append(Rejection(where, "invalid_population", f"population must be at least 1 (got {population})"))
            continue
        if population is None:
            rej.append(Rejection(where, "missing_population",
                                 "no population tag on the relation and no row for its name in population_csv"))
            continue
        if agency is None:
            rej.append(Rejection(where, "unknown_agency", "no agency to own the town (set towns.agency)"))
            continue
        g = b.geometry
        from shapely.geometry import mapping

        out.append(TownRec(f"OSM-R{b.relation_id}", names.zh, names.en, agency, population, note,
                           round(km2(g, g.centroid.y), 3), dict(mapping(g)), where))
    return out


UNIT_KINDS = tuple(k.value for k in UnitKind)


def read_units(spec: str, base: Path, rej: list[Rejection]) -> list[UnitRec]:
    def make(where: str, r: dict[str, str]) -> UnitRec:
        kind = _kind(_text(r, "kind"), allowed=UNIT_KINDS)
        mode = r.get("travel_mode") or None
        if mode is not None and mode not in TRAVEL_MODES:
            raise Bad("unknown_travel_mode", f"travel_mode {mode!r} is not one of {', '.join(TRAVEL_MODES)}")
        lon, lat = _pair(r, required=False)
        return UnitRec(_text(r, "call_sign"), kind, _text(r, "station"), lon, lat, where, travel_mode=mode)

    return _rows(_csv_rows(base / spec, UNIT_COLUMNS, UNIT_OPTIONAL, rej), make, rej)
