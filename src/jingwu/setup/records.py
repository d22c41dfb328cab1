"""What setup reads from the files, before it touches the database: one record per agency, town and unit,
each with ``where`` (file and line or feature number) for the report, and the rejections with their
reasons. Standard library only."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

TRAVEL_MODES = ("car", "motorbike", "foot", "bicycle")


@dataclass(frozen=True)
class Rejection:
    where: str  # "stations.csv line 4", "towns.geojson feature 2 (code T02)", "manifest"
    code: str  # machine-readable, e.g. "overlapping_towns"
    message: str
    key: str | None = None  # the code (or call sign) of the rejected row, when it has one

    def line(self) -> str:
        return f"{self.where}: [{self.code}] {self.message}"


def norm_geojson(g: dict[str, Any] | None) -> dict[str, Any] | None:
    """A GeoJSON geometry with coordinates rounded to 7 decimals (≈1 cm) and lists for tuples, so that a
    geometry compares equal to itself after a round trip through the database."""
    if g is None:
        return None

    def r(c: Any) -> Any:
        if isinstance(c, (list, tuple)):
            return [r(x) for x in c]
        return round(float(c), 7)

    out: dict[str, Any] = json.loads(json.dumps(g))
    if "coordinates" in out:
        out["coordinates"] = r(out["coordinates"])
    return out


def rnd(v: float | None) -> float | None:
    return None if v is None else round(float(v), 7)


@dataclass
class AgencyRec:
    code: str
    name: str
    name_en: str | None
    kind: str
    parent: str | None
    lon: float | None
    lat: float | None
    where: str
    source: str | None = None
    jurisdiction: dict[str, Any] | None = None

    def compared(self) -> dict[str, Any]:
        return {"name": self.name, "name_en": self.name_en, "kind": self.kind, "lon": rnd(self.lon),
                "lat": rnd(self.lat), "source": self.source, "jurisdiction": norm_geojson(self.jurisdiction)}


@dataclass
class TownRec:
    code: str
    name: str
    name_en: str | None
    agency: str
    population: int
    population_note: str | None
    area_km2: float | None
    geometry: dict[str, Any] | None
    where: str

    def compared(self) -> dict[str, Any]:
        return {"name": self.name, "name_en": self.name_en, "agency": self.agency, "population": self.population,
                "population_note": self.population_note,
                "area_km2": None if self.area_km2 is None else round(self.area_km2, 3),
                "geometry": norm_geojson(self.geometry)}


@dataclass
class UnitRec:
    call_sign: str
    kind: str
    station: str
    lon: float | None  # as given (None: at its station, on the nearest road)
    lat: float | None
    where: str
    travel_mode: str | None = None  # validated only; not stored yet
    home: tuple[float, float] | None = None  # the position stored (given, or the station snapped to a road)

    def compared(self) -> dict[str, Any]:
        lon, lat = self.home or (None, None)
        return {"kind": self.kind, "station": self.station, "home_lon": rnd(lon), "home_lat": rnd(lat)}


@dataclass
class Change:
    action: str  # created | updated | unchanged
    kind: str  # agency | town | unit
    key: str  # code or call sign
    where: str
    fields: tuple[str, ...] = ()  # what an update changes


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for k in ("agency", "town", "unit", "config", "user"):
            row = dict.fromkeys(("created", "updated", "unchanged"), 0)
            for c in self.changes:
                if c.kind == k:
                    row[c.action] += 1
            out[k] = row
        return out
